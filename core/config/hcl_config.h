#pragma once
// HCL config files (.hcl, Consul's usual format) read by core/hcl into the format-neutral
// ConfigValue tree, shaped as Consul's HCL decoding leaves it so one key table serves all formats:
//  - a block `ports { http = 8500 }` is the map `ports`;
//  - a key written several times (`services { ... }` twice) is one list of every value;
//  - `services`, `checks` and `upstreams` are lists even when written once;
//  - `service` or `check` written several times in one object become `services` / `checks`
//    (appended after any written under the plural name).
// Errors read `<origin>:<line>:<col>: ...`, as the parser's.

#include <string>
#include <string_view>

#include "core/base/status.h"
#include "core/config/config_value.h"

namespace cairn::config {

StatusOr<ConfigValue> parseHclConfig(std::string_view text, const std::string& origin);

}  // namespace cairn::config
