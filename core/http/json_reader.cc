#include "core/http/json_reader.h"

#include <cctype>

namespace cairn::http {
namespace {

bool sameName(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (true) {
    while (i < a.size() && a[i] == '_') ++i;
    while (j < b.size() && b[j] == '_') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[j]))) {
      return false;
    }
    ++i;
    ++j;
  }
}

}  // namespace

StatusOr<web::json::value> parseJson(std::string_view text) {
  try {
    return web::json::value::parse(std::string(text));
  } catch (const std::exception& e) {
    return invalidArgument(e.what());
  }
}

const web::json::value* findField(const web::json::value& object, std::string_view name) {
  if (!object.is_object()) return nullptr;
  for (const auto& [key, value] : object.as_object()) {
    if (sameName(key, name)) return &value;
  }
  return nullptr;
}

StatusOr<std::optional<std::string>> stringField(const web::json::value& object,
                                                 std::string_view name) {
  const web::json::value* v = findField(object, name);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return invalidArgument(std::string(name) + " must be a string");
  return std::optional<std::string>(v->as_string());
}

StatusOr<std::optional<uint64_t>> uintField(const web::json::value& object, std::string_view name) {
  const web::json::value* v = findField(object, name);
  if (!v || v->is_null()) return std::optional<uint64_t>();
  if (!v->is_number() || !v->as_number().is_integral() || !v->as_number().is_uint64()) {
    return invalidArgument(std::string(name) + " must be an unsigned integer");
  }
  return std::optional<uint64_t>(v->as_number().to_uint64());
}

}  // namespace cairn::http
