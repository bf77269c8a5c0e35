#pragma once
// The /v1/agent/* routes served from this agent's local registry (agent_handlers.cc): services,
// checks, TTL updates, maintenance and local health. Members, join, leave and force-leave are in
// membership_routes.h; /v1/agent/self and /v1/agent/metrics live in status_handlers.cc. See
// docs/agent.md.

#include "core/http/api_context.h"
#include "core/http/router.h"
#include "core/local/local_agent.h"

namespace cairn::http {

// `agent` and `ctx` outlive the router.
void addAgentRoutes(Router& router, ApiContext& ctx, local::LocalAgent& agent);

}  // namespace cairn::http
