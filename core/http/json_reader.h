#pragma once
// Reading request JSON the way Consul (Go's encoding/json) does: object keys match
// case-insensitively, unknown keys are ignored. Wraps cpprestsdk's parser; no exception escapes.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace cairn::http {

// Parses `text`; errors are kInvalidArgument with the parser's message.
StatusOr<web::json::value> parseJson(std::string_view text);

// The member of `object` named `name`, compared case-insensitively (and ignoring '_', so
// snake_case spellings match too); nullptr when absent or when `object` is not an object.
const web::json::value* findField(const web::json::value& object, std::string_view name);

// Typed accessors: absent → nullopt; present with the wrong type → kInvalidArgument naming it.
StatusOr<std::optional<std::string>> stringField(const web::json::value& object,
                                                 std::string_view name);
StatusOr<std::optional<uint64_t>> uintField(const web::json::value& object, std::string_view name);

// Request-body field decoders, Consul style: an absent or null member leaves *out unchanged; a
// member of the wrong type is kInvalidArgument "Request decode failed: <name>: expected ...".
Status decodeFailed(std::string_view what);
Status decodeString(const web::json::value& object, std::string_view name, std::string* out);
Status decodeBool(const web::json::value& object, std::string_view name, bool* out);
Status decodeInt(const web::json::value& object, std::string_view name, int32_t* out);
// A Go duration string ("10s"; "" leaves *out unchanged) or integer nanoseconds.
Status decodeDuration(const web::json::value& object, std::string_view name, int64_t* out_ns);
Status decodeStrings(const web::json::value& object, std::string_view name,
                     std::vector<std::string>* out);
Status decodeStringMap(const web::json::value& object, std::string_view name,
                       std::map<std::string, std::string>* out);

}  // namespace cairn::http
