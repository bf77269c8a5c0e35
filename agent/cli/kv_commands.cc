// `cairn kv put|get|delete|export|import`: Consul's `consul kv` commands, flags and messages.
#include <iostream>

#include "agent/cli/api_client.h"
#include "agent/cli/commands.h"
#include "agent/cli/kv_entry.h"
#include "core/http/json_reader.h"
#include "core/http/json_writer.h"

namespace cairn::agent::cli {
namespace {

int usageError(const std::string& message) {
  std::cerr << message << "\n";
  return 1;
}

int apiError(const Status& s) { return usageError(s.message()); }

int unexpected(const ApiResponse& r) {
  return usageError("Error! Unexpected response code: " + std::to_string(r.status) + " (" + r.body + ")");
}

std::string query(std::initializer_list<std::pair<bool, std::string>> parts) {
  std::string q;
  for (const auto& [on, text] : parts) {
    if (on) q += (q.empty() ? "?" : "&") + text;
  }
  return q;
}

void printDetailed(const store::KvEntry& e, bool base64) {
  auto row = [](const char* name, const std::string& v) {
    std::cout << name << std::string(17 - std::string(name).size(), ' ') << v << "\n";
  };
  row("CreateIndex", std::to_string(e.create_index));
  row("Flags", std::to_string(e.flags));
  row("Key", e.key);
  row("LockIndex", std::to_string(e.lock_index));
  row("ModifyIndex", std::to_string(e.modify_index));
  row("Session", e.session.empty() ? "-" : e.session);
  row("Value", base64 ? http::base64Encode(e.value) : e.value);
}

}  // namespace

int kvPut(const std::vector<std::string>& args) {
  FlagSet flags;
  ApiOptions api;
  api.define(flags);
  bool cas = false, acquire = false, release = false, base64 = false;
  uint64_t modify_index = 0, flag_value = 0;
  std::string session;
  flags.boolFlag("cas", &cas);
  flags.uint64Flag("modify-index", &modify_index);
  flags.uint64Flag("flags", &flag_value);
  flags.boolFlag("acquire", &acquire);
  flags.boolFlag("release", &release);
  flags.stringFlag("session", &session);
  flags.boolFlag("base64", &base64);
  auto rest = flags.parse(args);
  if (!rest.isOk()) return usageError(rest.status().message());
  if (rest->empty()) return usageError("Error! Missing KEY argument");
  if (rest->size() > 2) return usageError("Error! Too many arguments (expected 1 or 2, got " + std::to_string(rest->size()) + ")");
  const std::string key = (*rest)[0];
  auto data = readData(rest->size() == 2 ? (*rest)[1] : "");
  if (!data.isOk()) return usageError("Error! " + data.status().message());
  std::string value = *data;
  if (base64 && !http::base64Decode(value, value)) return usageError("Error! Cannot base 64 decode data");
  if (cas && !flags.wasSet("modify-index")) return usageError("Must specify -modify-index with -cas!");
  if ((acquire || release) && session.empty()) return usageError("Error! Missing -session");
  std::string q = query({{flags.wasSet("flags"), "flags=" + std::to_string(flag_value)},
                         {cas, "cas=" + std::to_string(modify_index)},
                         {acquire, "acquire=" + session},
                         {release, "release=" + session}});
  auto r = ApiClient(api).request("PUT", "/v1/kv/" + encodeKeyPath(key) + q, value);
  if (!r.isOk()) return apiError(r.status());
  if (r->status != 200) return unexpected(*r);
  if (r->body.find("true") == std::string::npos) {
    std::cerr << "Error! Did not write to " << key << ": " << (cas ? "CAS failed" : "lock not acquired") << "\n";
    return 1;
  }
  std::cout << (acquire ? "Success! Lock acquired on: " : release ? "Success! Lock released on: "
                                                                   : "Success! Data written to: ")
            << key << "\n";
  return 0;
}

int kvGet(const std::vector<std::string>& args) {
  FlagSet flags;
  ApiOptions api;
  api.define(flags);
  bool recurse = false, keys = false, detailed = false, base64 = false;
  std::string separator = "/";
  flags.boolFlag("recurse", &recurse);
  flags.boolFlag("keys", &keys);
  flags.boolFlag("detailed", &detailed);
  flags.boolFlag("base64", &base64);
  flags.stringFlag("separator", &separator);
  auto rest = flags.parse(args);
  if (!rest.isOk()) return usageError(rest.status().message());
  if (rest->size() > 1) return usageError("Error! Too many arguments (expected 1, got " + std::to_string(rest->size()) + ")");
  std::string key = rest->empty() ? "" : (*rest)[0];
  if (key.empty() && !recurse && !keys) return usageError("Error! Missing KEY argument");
  std::string path = "/v1/kv/" + encodeKeyPath(key);
  ApiClient client(api);
  if (keys) {
    auto r = client.request("GET", path + "?keys" + (separator.empty() ? "" : "&separator=" + encodeKeyPath(separator)));
    if (!r.isOk()) return apiError(r.status());
    if (r->status == 404) return 0;
    if (r->status != 200) return unexpected(*r);
    auto json = http::parseJson(r->body);
    if (!json.isOk() || !json->is_array()) return usageError("Error! Malformed response");
    for (const auto& k : json->as_array()) std::cout << (k.is_string() ? k.as_string() : "") << "\n";
    return 0;
  }
  auto r = client.request("GET", path + (recurse ? "?recurse" : ""));
  if (!r.isOk()) return apiError(r.status());
  if (r->status == 404) {
    if (recurse) return 0;
    return usageError("Error! No key exists at: " + key);
  }
  if (r->status != 200) return unexpected(*r);
  auto entries = parseKvEntries(r->body);
  if (!entries.isOk()) return usageError("Error! " + entries.status().message());
  for (size_t i = 0; i < entries->size(); ++i) {
    const auto& e = (*entries)[i];
    if (detailed) {
      if (i > 0) std::cout << "\n";
      printDetailed(e, base64);
    } else {
      std::string v = base64 ? http::base64Encode(e.value) : e.value;
      std::cout << (recurse ? e.key + ":" : "") << v << "\n";
    }
  }
  return 0;
}

int kvDelete(const std::vector<std::string>& args) {
  FlagSet flags;
  ApiOptions api;
  api.define(flags);
  bool recurse = false, cas = false;
  uint64_t modify_index = 0;
  flags.boolFlag("recurse", &recurse);
  flags.boolFlag("cas", &cas);
  flags.uint64Flag("modify-index", &modify_index);
  auto rest = flags.parse(args);
  if (!rest.isOk()) return usageError(rest.status().message());
  if (rest->size() > 1) return usageError("Error! Too many arguments (expected 1, got " + std::to_string(rest->size()) + ")");
  std::string key = rest->empty() ? "" : (*rest)[0];
  if (key.empty() && !recurse) return usageError("Error! Missing KEY argument");
  if (cas && recurse) return usageError("Cannot specify both -cas and -recurse!");
  if (cas && !flags.wasSet("modify-index")) return usageError("Must specify -modify-index with -cas!");
  std::string q = query({{recurse, "recurse"}, {cas, "cas=" + std::to_string(modify_index)}});
  auto r = ApiClient(api).request("DELETE", "/v1/kv/" + encodeKeyPath(key) + q);
  if (!r.isOk()) return apiError(r.status());
  if (r->status != 200) return unexpected(*r);
  if (r->body.find("true") == std::string::npos) {
    return usageError("Error! Did not delete key " + key + ": CAS failed");
  }
  std::cout << (recurse ? "Success! Deleted keys with prefix: " : "Success! Deleted key: ") << key << "\n";
  return 0;
}

int kvExport(const std::vector<std::string>& args) {
  FlagSet flags;
  ApiOptions api;
  api.define(flags);
  auto rest = flags.parse(args);
  if (!rest.isOk()) return usageError(rest.status().message());
  if (rest->size() > 1) return usageError("Error! Too many arguments (expected 1, got " + std::to_string(rest->size()) + ")");
  std::string prefix = rest->empty() ? "" : (*rest)[0];
  auto r = ApiClient(api).request("GET", "/v1/kv/" + encodeKeyPath(prefix) + "?recurse");
  if (!r.isOk()) return apiError(r.status());
  std::vector<store::KvEntry> entries;
  if (r->status == 200) {
    auto parsed = parseKvEntries(r->body);
    if (!parsed.isOk()) return usageError("Error! " + parsed.status().message());
    entries = std::move(*parsed);
  } else if (r->status != 404) {
    return unexpected(*r);
  }
  std::cout << exportJson(entries);
  return 0;
}

int kvImport(const std::vector<std::string>& args) {
  FlagSet flags;
  ApiOptions api;
  api.define(flags);
  std::string prefix;
  flags.stringFlag("prefix", &prefix);
  auto rest = flags.parse(args);
  if (!rest.isOk()) return usageError(rest.status().message());
  if (rest->size() != 1) return usageError("Error! Expected exactly one DATA argument (@file, - or JSON)");
  auto data = readData((*rest)[0]);
  if (!data.isOk()) return usageError("Error! " + data.status().message());
  auto entries = parseExportJson(*data);
  if (!entries.isOk()) return usageError("Cannot unmarshal data: " + entries.status().message());
  ApiClient client(api);
  for (const auto& e : *entries) {
    if (!e.key.starts_with(prefix)) continue;
    auto r = client.request("PUT", "/v1/kv/" + encodeKeyPath(e.key) + "?flags=" + std::to_string(e.flags), e.value);
    if (!r.isOk()) return apiError(r.status());
    if (r->status != 200) return unexpected(*r);
    std::cout << "Imported: " << e.key << "\n";
  }
  return 0;
}

}  // namespace cairn::agent::cli
