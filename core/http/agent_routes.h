#pragma once
// The /v1/agent/* routes served from this agent's local registry (agent_handlers.cc): services,
// checks, TTL updates, maintenance, local health, members, plus the gossip operations Cairn does
// not have (join, force-leave: clear 500 errors). /v1/agent/self and /v1/agent/metrics live in
// status_handlers.cc. Servers and client agents both serve them (AgentApiContext). See
// docs/agent.md.

#include "core/http/agent_context.h"
#include "core/http/router.h"
#include "core/local/local_agent.h"

namespace cairn::http {

// `agent` and `ctx` outlive the router.
void addAgentRoutes(Router& router, AgentApiContext& ctx, local::LocalAgent& agent);
// GET /v1/agent/self, /v1/agent/metrics and /metrics (status_handlers.cc).
void addAgentSelfRoutes(Router& router, AgentApiContext& ctx);

}  // namespace cairn::http
