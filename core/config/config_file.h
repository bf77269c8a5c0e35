#pragma once
// Config files of `cairn agent`: JSON or YAML (yaml-cpp reads both) with Consul's key names.
// Unknown keys are errors, like Consul's. HCL is rejected with a clear error.

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/config/agent_config.h"

namespace cairn::config {

// Reads one file (.json, .yaml or .yml) and applies the keys it sets onto `config`; lists
// (retry_join) are appended to. Errors name the file and the key.
Status applyConfigFile(const std::string& path, AgentConfig& config);

// Applies config text; `origin` names it in errors. Empty text sets nothing.
Status applyConfigText(const std::string& text, const std::string& origin, AgentConfig& config);

// The config files of a -config-dir in lexical order of their names: *.json, *.yaml, *.yml.
// Other files and subdirectories are ignored; a *.hcl file is an error.
StatusOr<std::vector<std::string>> listConfigDir(const std::string& dir);

}  // namespace cairn::config
