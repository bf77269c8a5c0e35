#pragma once
// Config files of `cairn agent` with Consul's key names: HCL (.hcl, through core/hcl; see
// hcl_config.h), strict JSON (.json) or YAML (.yaml, .yml), each read into a ConfigValue tree and
// walked against Consul's key table (consul_keys.h). Keys Cairn implements take effect; keys Consul
// knows but Cairn does not implement are recorded in AgentConfig::ignored_keys (one warning at
// start); keys Consul does not know are errors. Errors read `config file <path>:<line>:<col>: ...`.

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/config/agent_config.h"
#include "core/config/config_value.h"

namespace cairn::config {

// Reads one file (.hcl, .json, .yaml or .yml) and applies the keys it sets onto `config`; lists
// (retry_join, services, checks) are appended to. On error `config` is unchanged.
Status applyConfigFile(const std::string& path, AgentConfig& config);

// Applies config text read as YAML (JSON is a subset); `origin` names it in errors.
Status applyConfigText(const std::string& text, const std::string& origin, AgentConfig& config);

// Applies a parsed tree (any format); `file` names it in errors and in ignored_keys.
Status applyConfigTree(const ConfigValue& root, const std::string& file, AgentConfig& config);

// The config files of a -config-dir in lexical order of their names: *.hcl, *.json, *.yaml,
// *.yml. Other files and subdirectories are ignored.
StatusOr<std::vector<std::string>> listConfigDir(const std::string& dir);

// The one start-up warning naming every ignored key with its file, or "" when there are none:
// `config: ignoring keys Cairn does not implement: acl.enabled, encrypt (file consul.json)`.
std::string ignoredKeysWarning(const AgentConfig& config);

// The key paths this file applies, sorted (tests compare them with consul_keys.cc).
std::vector<std::string> implementedKeyPaths();

}  // namespace cairn::config
