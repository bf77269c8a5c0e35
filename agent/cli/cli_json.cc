#include "agent/cli/cli_json.h"

#include <iostream>

namespace cairn::cli {

StatusOr<JsonValue> parseJsonText(const std::string& text) {
  try {
    return JsonValue::parse(text);
  } catch (const std::exception& e) {
    return invalidArgument(std::string("invalid JSON from the agent: ") + e.what());
  }
}

StatusOr<JsonValue> getJson(const ApiClient& api, const std::string& path, Query query) {
  auto response = api.send("GET", path, std::move(query), "", true);
  if (!response.isOk()) return response.status();
  if (response->status != 200) return unexpectedResponse(*response);
  return parseJsonText(response->body);
}

Status sendPut(const ApiClient& api, const std::string& path, Query query,
               const std::string& body) {
  auto response = api.send("PUT", path, std::move(query), body);
  if (!response.isOk()) return response.status();
  if (response->status != 200) return unexpectedResponse(*response);
  return Status::ok();
}

std::string jsonString(const JsonValue& obj, const char* name) {
  if (!obj.is_object() || !obj.has_field(name) || !obj.at(name).is_string()) return "";
  return obj.at(name).as_string();
}

uint64_t jsonUint(const JsonValue& obj, const char* name) {
  if (!obj.is_object() || !obj.has_field(name) || !obj.at(name).is_number()) return 0;
  const auto& n = obj.at(name).as_number();
  return n.is_uint64() ? n.to_uint64() : 0;
}

bool jsonBool(const JsonValue& obj, const char* name) {
  return obj.is_object() && obj.has_field(name) && obj.at(name).is_boolean() &&
         obj.at(name).as_bool();
}

std::string jsonScalarText(const JsonValue& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_null()) return "<nil>";
  return v.serialize();
}

std::optional<int> rejectArguments(const FlagSet& fs, CliIo& io) {
  if (fs.args().empty()) return std::nullopt;
  io.err << "Too many arguments (expected 0, got " << fs.args().size() << ")\n";
  return 1;
}

StatusOr<Query> nodeMetaQuery(const std::vector<std::string>& pairs) {
  Query query;
  for (const std::string& pair : pairs) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      return invalidArgument("Error parsing -node-meta " + pair + ": want key=value");
    }
    query.emplace_back("node-meta", pair.substr(0, eq) + ":" + pair.substr(eq + 1));
  }
  return query;
}

}  // namespace cairn::cli
