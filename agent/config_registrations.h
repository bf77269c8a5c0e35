#pragma once
// ConfigRegistrations: the service and check definitions of the config files (Consul: service,
// services, check, checks), registered through the local agent with the same decoders as
// PUT /v1/agent/service/register and /v1/agent/check/register. They are tracked apart from the
// API's registrations, as Consul does: apply() with a newer config (a reload) registers what the
// files define now and removes what an earlier apply() registered that the files no longer
// define. The IDs are kept in a file in the data dir, so a definition removed while the agent was
// down is removed at the next start too. See docs/configuration.md.
//
// Threading: apply() is thread-safe (serialised); it is called at start, from the signal thread
// (SIGHUP) and from HTTP threads (PUT /v1/agent/reload).

#include <mutex>
#include <set>
#include <string>

#include "core/base/status.h"
#include "core/config/agent_config.h"
#include "core/local/local_agent.h"

namespace cairn::agent {

class ConfigRegistrations {
 public:
  // `agent` outlives this object. `state_file` holds the IDs registered from config files.
  ConfigRegistrations(local::LocalAgent& agent, std::string state_file);

  // Decodes every definition of `config` first: one that does not decode is an error naming its
  // file, line and column, and nothing changes. Then registers them all (replacing earlier
  // versions) and removes the config-sourced services and checks no longer defined.
  Status apply(const config::AgentConfig& config);

 private:
  void loadState();
  void saveState() const;

  local::LocalAgent& agent_;
  const std::string state_file_;
  std::mutex mu_;
  std::set<std::string> services_;  // IDs registered from config files
  std::set<std::string> checks_;
};

}  // namespace cairn::agent
