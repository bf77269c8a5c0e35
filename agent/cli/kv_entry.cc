#include "agent/cli/kv_entry.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "core/http/json_reader.h"
#include "core/http/json_writer.h"

namespace cairn::agent::cli {
namespace {

using http::stringField;
using http::uintField;

// Reads one entry; the export format has only key, flags and value (lower-case names).
StatusOr<store::KvEntry> decodeEntry(const web::json::value& v, bool export_format) {
  store::KvEntry e;
  auto key = stringField(v, "Key");
  auto value = stringField(v, "Value");
  auto flags = uintField(v, "Flags");
  if (!key.isOk() || !value.isOk() || !flags.isOk() || !key->has_value()) {
    return invalidArgument("malformed KV entry");
  }
  e.key = **key;
  e.flags = flags->value_or(0);
  if (value->has_value() && !http::base64Decode(**value, e.value)) {
    return invalidArgument("value of " + e.key + " is not valid base64");
  }
  if (!export_format) {
    auto number = [&v](const char* name) {
      auto r = uintField(v, name);
      return r.isOk() ? r->value_or(0) : 0;
    };
    e.create_index = number("CreateIndex");
    e.modify_index = number("ModifyIndex");
    e.lock_index = number("LockIndex");
    auto session = stringField(v, "Session");
    if (session.isOk()) e.session = session->value_or("");
  }
  return e;
}

StatusOr<std::vector<store::KvEntry>> decodeArray(const std::string& text, bool export_format) {
  auto json = http::parseJson(text);
  if (!json.isOk()) return json.status();
  if (!json->is_array()) return invalidArgument("expected a JSON array");
  std::vector<store::KvEntry> out;
  for (const auto& item : json->as_array()) {
    auto e = decodeEntry(item, export_format);
    if (!e.isOk()) return e.status();
    out.push_back(std::move(*e));
  }
  return out;
}

}  // namespace

StatusOr<std::vector<store::KvEntry>> parseKvEntries(const std::string& body) {
  return decodeArray(body, false);
}

StatusOr<std::vector<store::KvEntry>> parseExportJson(const std::string& text) {
  return decodeArray(text, true);
}

StatusOr<std::string> readData(const std::string& arg) {
  if (arg == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!arg.empty() && arg[0] == '@') {
    std::ifstream in(arg.substr(1), std::ios::binary);
    if (!in) return invalidArgument("Failed to read file: " + arg.substr(1));
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
  }
  return arg;
}

std::string exportJson(const std::vector<store::KvEntry>& entries) {
  http::JsonWriter w;
  w.beginArray();
  for (const auto& e : entries) {
    w.beginObject().key("key").string(e.key).key("flags").number(e.flags);
    w.key("value").string(http::base64Encode(e.value)).endObject();
  }
  w.endArray();
  return http::prettyJson(w.str(), "\t");
}

}  // namespace cairn::agent::cli
