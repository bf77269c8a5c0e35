#pragma once
// Registration of every HTTP API route. Each function adds one group of routes to the router.

#include "core/http/api_context.h"
#include "core/http/router.h"

namespace cairn::http {

void addKvRoutes(Router& router, ApiContext& ctx);
void addTxnRoutes(Router& router, ApiContext& ctx);
void addStatusRoutes(Router& router, ApiContext& ctx);
// /v1/operator/raft/{configuration,peer,transfer-leader}, /v1/operator/autopilot/{health,
// configuration}.
void addOperatorRoutes(Router& router, ApiContext& ctx);
// GET/PUT /v1/snapshot; PUT bodies up to kMaxSnapshotBody.
void addSnapshotRoutes(Router& router, ApiContext& ctx);
// /v1/session/{create,destroy/,renew/,info/,node/,list} (session_handlers.cc).
void addSessionRoutes(Router& router, ApiContext& ctx);
// PUT /v1/event/fire/<name> (bodies up to 512 bytes), GET /v1/event/list (event_handlers.cc).
void addEventRoutes(Router& router, ApiContext& ctx);

// /v1/query and /v1/query/<id>[/execute|/explain] (prepared_query_handlers.cc); ACLs are
// checked by the handlers (the route table declares them open).
void addPreparedQueryRoutes(Router& router, ApiContext& ctx);

// /v1/catalog/* (catalog_handlers.cc) and /v1/health/* (health_handlers.cc).
void addCatalogRoutes(Router& router, ApiContext& ctx);
void addHealthRoutes(Router& router, ApiContext& ctx);

// /v1/acl/* (acl_handlers.cc): bootstrap, tokens, policies, roles. 401 "ACL support disabled"
// while ctx.acl is null or disabled.
void addAclRoutes(Router& router, ApiContext& ctx);

// The body of PUT /v1/txn decoded (txn_handler.cc); the ACL guard reads the ops' keys with it.
StatusOr<v1::Txn> decodeTxn(const std::string& body, uint64_t max_value);

// Proposes `command` and answers `true` once applied; a command the state machine refused
// (TxnOutcome not ok) answers 400 with its error text, a node error (no leader, ...) as
// errorResponse() maps it.
void proposeCommand(ApiContext& ctx, v1::Command command, Responder respond);

inline constexpr size_t kMaxSnapshotBody = size_t{256} << 20;

// ?dc= naming another datacenter: 500 "No path to datacenter" (there is no WAN federation).
Status checkDatacenter(const ApiContext& ctx, const QueryParams& query);

// Shared by handlers: a 400/404/409/413/500 response for a non-OK status.
HttpResponse errorResponse(const Status& status);

}  // namespace cairn::http
