#pragma once
// YAML config files read into the format-neutral ConfigValue tree (yaml-cpp underneath). Plain
// scalars are typed as YAML does (true/false/yes/no, numbers, null, ~); quoted ones stay strings.

#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/config/config_value.h"

namespace cairn::config {

// Parses a whole file. Empty text is an empty map. Errors read `<origin>:<line>:<col>: ...`.
StatusOr<ConfigValue> parseYamlConfig(std::string_view text, const std::string& origin);

}  // namespace cairn::config
