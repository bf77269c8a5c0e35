#pragma once
// The /v1/agent/* routes served from this agent's local registry (agent_handlers.cc): services,
// checks, TTL updates, maintenance and local health. Members, join, leave and force-leave are in
// membership_routes.h.
// /v1/agent/self and /v1/agent/metrics live in status_handlers.cc. Servers and client agents both
// serve these routes (AgentApiContext). See
// docs/agent.md.

#include <functional>

#include "core/http/agent_context.h"
#include "core/http/router.h"
#include "core/local/local_agent.h"

namespace cairn::http {

// `agent` and `ctx` outlive the router. `reload`, when set, re-reads the config files for
// PUT /v1/agent/reload (its error is answered 500); without it the route only resyncs.
void addAgentRoutes(Router& router, AgentApiContext& ctx, local::LocalAgent& agent,
                    std::function<Status()> reload = nullptr);
// GET /v1/agent/self, /v1/agent/metrics and /metrics (status_handlers.cc), and
// /v1/agent/monitor.
void addAgentSelfRoutes(Router& router, AgentApiContext& ctx);
// GET /v1/agent/monitor: the agent's log streamed (monitor_handlers.cc; needs the HTTP edge).
void addMonitorRoute(Router& router);

}  // namespace cairn::http
