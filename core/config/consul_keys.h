#pragma once
// Every key of Consul's agent configuration (files), in one table, with what Cairn does with it.
// Keys are dotted paths ("dns_config.node_ttl"). A key Consul does not know is an error; a key
// it knows that Cairn does not implement is accepted and named in one warning at start
// (docs/configuration.md). The table is format-neutral: JSON, YAML and HCL trees all walk it.

#include <string>
#include <string_view>
#include <vector>

namespace cairn::config {

enum class KeyKind {
  kValue,     // a scalar or a list of scalars
  kBlock,     // a map whose keys are listed in the table under "<path>."
  kFreeform,  // a map or list whose content is not a key path (node_meta, services, watches)
};

enum class Support {
  kImplemented,  // takes effect (config_file.cc has its setter)
  kNoop,         // accepted without a warning: Cairn already behaves as the key asks
  kStored,       // kept in AgentConfig for a later feature, but no effect yet: warned about
  kIgnored,      // accepted, named in the start-up warning
};

struct ConsulKey {
  std::string_view path;
  KeyKind kind;
  Support support;
};

// The whole table (blocks included), in no particular order.
const std::vector<ConsulKey>& consulKeys();

// The entry for `path` (lowercase, dotted), or nullptr when Consul does not know it.
const ConsulKey* findConsulKey(std::string_view path);

}  // namespace cairn::config
