#pragma once
// Registration of every HTTP API route. Each function adds one group of routes to the router.

#include "core/http/api_context.h"
#include "core/http/router.h"

namespace cairn::http {

void addKvRoutes(Router& router, ApiContext& ctx);
void addTxnRoutes(Router& router, ApiContext& ctx);
void addStatusRoutes(Router& router, ApiContext& ctx);

// ?dc= naming another datacenter: 500 "No path to datacenter" (there is no WAN federation).
Status checkDatacenter(const ApiContext& ctx, const QueryParams& query);

// Shared by handlers: a 400/404/409/413/500 response for a non-OK status.
HttpResponse errorResponse(const Status& status);

}  // namespace cairn::http
