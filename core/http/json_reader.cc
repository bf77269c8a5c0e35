#include "core/http/json_reader.h"

#include <cctype>

#include "core/base/duration.h"

namespace cairn::http {
namespace {

bool sameName(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (true) {
    while (i < a.size() && a[i] == '_') ++i;
    while (j < b.size() && b[j] == '_') ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[j]))) {
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

Status decodeFailed(std::string_view what) {
  return invalidArgument("Request decode failed: " + std::string(what));
}

Status decodeString(const web::json::value& object, std::string_view name, std::string* out) {
  auto v = stringField(object, name);
  if (!v.isOk()) return decodeFailed(v.status().message());
  if (*v) *out = **v;
  return Status::ok();
}

Status decodeBool(const web::json::value& object, std::string_view name, bool* out) {
  const web::json::value* v = findField(object, name);
  if (v == nullptr || v->is_null()) return Status::ok();
  if (!v->is_boolean()) return decodeFailed(std::string(name) + ": expected a boolean");
  *out = v->as_bool();
  return Status::ok();
}

Status decodeInt(const web::json::value& object, std::string_view name, int32_t* out) {
  const web::json::value* v = findField(object, name);
  if (v == nullptr || v->is_null()) return Status::ok();
  if (!v->is_number() || !v->as_number().is_int32()) {
    return decodeFailed(std::string(name) + ": expected an integer");
  }
  *out = v->as_number().to_int32();
  return Status::ok();
}

Status decodeDuration(const web::json::value& object, std::string_view name, int64_t* out_ns) {
  const web::json::value* v = findField(object, name);
  if (v == nullptr || v->is_null()) return Status::ok();
  if (v->is_number() && v->as_number().is_int64()) {
    *out_ns = v->as_number().to_int64();
    return Status::ok();
  }
  if (!v->is_string()) return decodeFailed(std::string(name) + ": expected a duration");
  if (v->as_string().empty()) return Status::ok();
  auto d = parseGoDuration(v->as_string());
  if (!d.isOk()) return decodeFailed(std::string(name) + ": " + d.status().message());
  *out_ns = d->count();
  return Status::ok();
}

Status decodeStrings(const web::json::value& object, std::string_view name,
                     std::vector<std::string>* out) {
  const web::json::value* v = findField(object, name);
  if (v == nullptr || v->is_null()) return Status::ok();
  auto bad = [&] { return decodeFailed(std::string(name) + ": expected a list of strings"); };
  if (!v->is_array()) return bad();
  std::vector<std::string> items;
  for (const web::json::value& item : v->as_array()) {
    if (!item.is_string()) return bad();
    items.push_back(item.as_string());
  }
  *out = std::move(items);
  return Status::ok();
}

Status decodeStringMap(const web::json::value& object, std::string_view name,
                       std::map<std::string, std::string>* out) {
  const web::json::value* v = findField(object, name);
  if (v == nullptr || v->is_null()) return Status::ok();
  auto bad = [&] { return decodeFailed(std::string(name) + ": expected an object of strings"); };
  if (!v->is_object()) return bad();
  std::map<std::string, std::string> items;
  for (const auto& [key, item] : v->as_object()) {
    if (!item.is_string()) return bad();
    items[key] = item.as_string();
  }
  *out = std::move(items);
  return Status::ok();
}

}  // namespace cairn::http
