// /v1/session/*: Consul's session API (docs/consul-api.md §7). Writes go through the log as
// SessionCreate/Destroy/Renew commands; reads are blocking queries on the sessions table.
#include "core/http/handlers.h"
#include "core/http/json_writer.h"
#include "core/http/read_query.h"
#include "core/http/session_json.h"
#include "core/store/catalog_table.h"

namespace cairn::http {
namespace {

constexpr std::string_view kDestroyPrefix = "/v1/session/destroy/";
constexpr std::string_view kRenewPrefix = "/v1/session/renew/";
constexpr std::string_view kInfoPrefix = "/v1/session/info/";
constexpr std::string_view kNodePrefix = "/v1/session/node/";

std::string suffix(const HttpRequest& req, std::string_view prefix) {
  return req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : std::string();
}

// The first error of a failed outcome (apply reports one per command).
std::string firstError(const store::TxnOutcome& outcome) {
  return outcome.errors.empty() ? "session operation failed" : outcome.errors[0].what;
}

void propose(ApiContext& ctx, v1::Command cmd, std::function<void(const node::ProposeResult&)> done,
             Responder respond) {
  ctx.node.propose(std::move(cmd), [done = std::move(done), respond](auto result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    done(*result);
  });
}

void sessionCreate(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto session = decodeSessionCreate(req->body, ctx.agent.node_name, ctx.agent.session_ttl_min_ns);
  if (!session.isOk()) return respond(errorResponse(session.status()));
  std::string id = newUuid();
  session->set_id(id);
  v1::Command cmd;
  *cmd.mutable_session_create()->mutable_session() = std::move(*session);
  propose(
      ctx, std::move(cmd),
      [req, respond, id](const node::ProposeResult& r) {
        if (!r.outcome.ok) return respond(textResponse(500, firstError(r.outcome)));
        HttpResponse out =
            jsonResponse(JsonWriter().beginObject().key("ID").string(id).endObject().take());
        applyPretty(*req, out);
        respond(std::move(out));
      },
      respond);
}

void sessionDestroy(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string id = suffix(*req, kDestroyPrefix);
  if (id.empty()) return respond(textResponse(400, "Missing session"));
  v1::Command cmd;
  cmd.mutable_session_destroy()->set_id(id);
  propose(
      ctx, std::move(cmd),
      [respond](const node::ProposeResult& r) {
        if (!r.outcome.ok) return respond(textResponse(500, firstError(r.outcome)));
        respond(jsonResponse("true"));
      },
      respond);
}

// Renew restarts the TTL clock on every server (the command is applied everywhere) and answers
// the session as it is after the renewal.
void sessionRenew(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string id = suffix(*req, kRenewPrefix);
  if (id.empty()) return respond(textResponse(400, "Missing session"));
  v1::Command cmd;
  cmd.mutable_session_renew()->set_id(id);
  propose(
      ctx, std::move(cmd),
      [&ctx, req, respond, id](const node::ProposeResult& r) {
        store::SessionList found = ctx.store.session(id);
        if (!r.outcome.ok || found.sessions.empty()) {
          return respond(textResponse(404, store::sessionNotFound(id)));
        }
        HttpResponse out = jsonResponse(sessionsJson(found.sessions));
        applyPretty(*req, out);
        respond(std::move(out));
      },
      respond);
}

using SessionRead = std::function<store::SessionList()>;

void serveSessions(ApiContext& ctx, RequestPtr req, SessionRead read, Responder respond) {
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  store::WatchTarget target{store::catalogWatchKey(store::CatalogIndex::kSessions), false};
  serveRead(
      ctx, req, *opts, std::move(target),
      [read = std::move(read)] {
        store::SessionList list = read();
        return QueryAnswer{list.index, jsonResponse(sessionsJson(list.sessions))};
      },
      std::move(respond));
}

void sessionInfo(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string id = suffix(*req, kInfoPrefix);
  if (id.empty()) return respond(textResponse(400, "Missing session"));
  serveSessions(
      ctx, req, [&ctx, id] { return ctx.store.session(id); }, std::move(respond));
}

void sessionsOfNode(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string node = suffix(*req, kNodePrefix);
  if (node.empty()) return respond(textResponse(400, "Missing node name"));
  serveSessions(
      ctx, req, [&ctx, node] { return ctx.store.nodeSessions(node); }, std::move(respond));
}

void sessionList(ApiContext& ctx, RequestPtr req, Responder respond) {
  serveSessions(
      ctx, req, [&ctx] { return ctx.store.sessions(); }, std::move(respond));
}

using SessionHandler = void (*)(ApiContext&, RequestPtr, Responder);

void addRoute(Router& router, ApiContext& ctx, std::string_view path, bool prefix,
              std::string method, SessionHandler handler) {
  router.add(Route{std::string(path),
                   prefix,
                   {std::move(method)},
                   [&ctx, handler](RequestPtr req, Responder respond) {
                     if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) {
                       return respond(errorResponse(s));
                     }
                     handler(ctx, std::move(req), std::move(respond));
                   }});
}

}  // namespace

void addSessionRoutes(Router& router, ApiContext& ctx) {
  addRoute(router, ctx, "/v1/session/create", false, "PUT", sessionCreate);
  addRoute(router, ctx, kDestroyPrefix, true, "PUT", sessionDestroy);
  addRoute(router, ctx, kRenewPrefix, true, "PUT", sessionRenew);
  addRoute(router, ctx, kInfoPrefix, true, "GET", sessionInfo);
  addRoute(router, ctx, kNodePrefix, true, "GET", sessionsOfNode);
  addRoute(router, ctx, "/v1/session/list", false, "GET", sessionList);
}

}  // namespace cairn::http
