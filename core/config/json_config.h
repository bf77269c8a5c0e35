#pragma once
// A strict JSON reader for .json config files (RFC 8259, as Go's encoding/json that Consul uses):
// no trailing commas, no comments, no single quotes, nothing after the top-level value. Errors
// read `<origin>:<line>:<col>: <message>`; the result keeps every value's position.

#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/config/config_value.h"

namespace cairn::config {

// Parses `text` (a whole file). Empty or whitespace-only text is an empty map.
// kInvalidArgument with the position of the first error.
StatusOr<ConfigValue> parseStrictJson(std::string_view text, const std::string& origin);

}  // namespace cairn::config
