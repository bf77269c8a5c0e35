#include "agent/cli/kv_client.h"

namespace cairn::cli {
namespace {

std::string kvPath(const std::string& key) { return "/v1/kv/" + key; }

}  // namespace

StatusOr<HttpResponse> KvClient::read(const std::string& key, Query query) const {
  auto response = api_.send("GET", kvPath(key), std::move(query), "", true);
  if (!response.isOk()) return response.status();
  if (response->status != 200 && response->status != 404) return unexpectedResponse(*response);
  return response;
}

StatusOr<std::optional<KvPair>> KvClient::get(const std::string& key) const {
  auto response = read(key, {});
  if (!response.isOk()) return response.status();
  if (response->status == 404) return std::optional<KvPair>();
  auto pairs = parseKvPairs(response->body);
  if (!pairs.isOk()) return pairs.status();
  if (pairs->empty()) return std::optional<KvPair>();
  return std::optional<KvPair>(std::move(pairs->front()));
}

StatusOr<std::vector<KvPair>> KvClient::list(const std::string& prefix) const {
  auto response = read(prefix, {{"recurse", ""}});
  if (!response.isOk()) return response.status();
  if (response->status == 404) return std::vector<KvPair>{};
  return parseKvPairs(response->body);
}

StatusOr<std::vector<std::string>> KvClient::keys(const std::string& prefix,
                                                  const std::string& separator) const {
  Query query = {{"keys", ""}};
  if (!separator.empty()) query.emplace_back("separator", separator);
  auto response = read(prefix, std::move(query));
  if (!response.isOk()) return response.status();
  if (response->status == 404) return std::vector<std::string>{};
  return parseStringArray(response->body);
}

StatusOr<bool> KvClient::write(const std::string& method, const std::string& key, Query query,
                               const std::string& body) const {
  auto response = api_.send(method, kvPath(key), std::move(query), body);
  if (!response.isOk()) return response.status();
  if (response->status != 200) return unexpectedResponse(*response);
  return response->body.find("true") != std::string::npos;
}

StatusOr<bool> KvClient::put(const KvPair& pair, WriteMode mode) const {
  if (!pair.key.empty() && pair.key[0] == '/') {
    return invalidArgument("Invalid key. Key must not begin with a '/': " + pair.key);
  }
  Query query;
  if (pair.flags != 0) query.emplace_back("flags", std::to_string(pair.flags));
  switch (mode) {
    case WriteMode::kCas:
      query.emplace_back("cas", std::to_string(pair.modify_index));
      break;
    case WriteMode::kAcquire:
      query.emplace_back("acquire", pair.session);
      break;
    case WriteMode::kRelease:
      query.emplace_back("release", pair.session);
      break;
    case WriteMode::kPut:
      break;
  }
  return write("PUT", pair.key, std::move(query), pair.value);
}

Status KvClient::deleteKey(const std::string& key) const {
  auto done = write("DELETE", key, {}, "");
  return done.isOk() ? Status::ok() : done.status();
}

StatusOr<bool> KvClient::deleteCas(const std::string& key, uint64_t modify_index) const {
  return write("DELETE", key, {{"cas", std::to_string(modify_index)}}, "");
}

Status KvClient::deleteTree(const std::string& prefix) const {
  auto done = write("DELETE", prefix, {{"recurse", ""}}, "");
  return done.isOk() ? Status::ok() : done.status();
}

}  // namespace cairn::cli
