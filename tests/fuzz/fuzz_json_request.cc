// Fuzz target for core/http's request JSON reading: parseJson on the input, then findField /
// stringField / uintField on the top level and on nested objects with the names handlers use.
// Errors are expected; crashes, sanitizer reports and escaping exceptions are findings.
#include <cstdint>
#include <string_view>

#include "core/http/json_reader.h"

namespace {

constexpr std::string_view kNames[] = {
    "Node",       "Address", "ID",
    "Service",    "Port",    "Check",
    "Checks",     "Name",    "TTL",
    "LockDelay",  "Index",   "ModifyIndex",
    "service_id", "Flags",   "Key",
    "Value",      "Verb",    "KV",
    "Session",    "",        "deregister_critical_service_after",
};

void probe(const web::json::value& object, int depth) {
  for (std::string_view name : kNames) {
    (void)cairn::http::stringField(object, name);
    (void)cairn::http::uintField(object, name);
    const web::json::value* field = cairn::http::findField(object, name);
    if (field == nullptr || depth >= 3) continue;
    if (field->is_object()) probe(*field, depth + 1);
    if (field->is_array()) {
      const web::json::array& items = field->as_array();
      for (size_t i = 0; i < items.size() && i < 8; ++i) probe(items.at(i), depth + 1);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = cairn::http::parseJson(text);
  if (!parsed.isOk()) return 0;
  probe(parsed.value(), 0);
  if (parsed->is_array()) {
    const web::json::array& items = parsed->as_array();
    for (size_t i = 0; i < items.size() && i < 8; ++i) probe(items.at(i), 1);
  }
  return 0;
}
