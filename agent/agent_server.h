#pragma once
// The composition root of `cairn agent`: builds the storage, state store, node, HTTP API and
// metrics from an AgentConfig, serves until SIGINT/SIGTERM, then shuts down in order.

#include "core/config/agent_config.h"

namespace cairn::agent {

// Runs the agent in the foreground. Returns the process exit code.
int runAgent(const config::AgentConfig& config);

}  // namespace cairn::agent
