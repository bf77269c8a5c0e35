// /v1/query: Consul's prepared-query API (docs/prepared-queries.md). Writes go through the log as
// PreparedQuerySet/Delete commands whose IDs are chosen here; reads (list, one query) are blocking
// queries on the queries table; execute and explain answer at once (Consul does not block them).
//
// ACLs are checked here, not by the router's guard, because what a request needs depends on the
// stored query (Consul's rules): `query:write` on the query's name (its "ACL prefix") to create,
// change or delete it, `query:read` to see it; an unnamed, non-template query has no prefix and is
// reached by whoever knows its ID. Execution reads the catalog with the query's Token when it has
// one, else with the caller's, and drops the nodes and services that token may not read.
#include <algorithm>
#include <random>

#include "core/acl/authorizer.h"
#include "core/http/acl_resolver.h"
#include "core/http/catalog_routes.h"
#include "core/http/handlers.h"
#include "core/http/prepared_query_json.h"
#include "core/http/read_query.h"
#include "core/http/session_json.h"
#include "core/store/prepared_query.h"

namespace cairn::http {
namespace {

constexpr std::string_view kList = "/v1/query";
constexpr std::string_view kItem = "/v1/query/";
constexpr std::string_view kExecute = "/execute";
constexpr std::string_view kExplain = "/explain";

using Authz = std::shared_ptr<const acl::Authorizer>;

HttpResponse permissionDenied() { return textResponse(403, "Permission denied"); }
HttpResponse queryNotFound() { return textResponse(404, std::string(store::kQueryNotFound)); }

// While ACLs are disabled (no authorizer) everything is allowed.
bool allowed(const Authz& authz, acl::Resource resource, std::string_view name,
             acl::Access access) {
  return !authz || authz->allowed(resource, name, access);
}

bool mayWrite(const Authz& authz, const v1::PreparedQuery& q) {
  auto prefix = store::queryAclPrefix(q);
  return !prefix || allowed(authz, acl::Resource::kQuery, *prefix, acl::Access::kWrite);
}

bool mayRead(const Authz& authz, const v1::PreparedQuery& q) {
  auto prefix = store::queryAclPrefix(q);
  return !prefix || allowed(authz, acl::Resource::kQuery, *prefix, acl::Access::kRead);
}

// Consul shows a query's Token to who may write the query; for one without an ACL prefix, only
// to an ACL manager.
bool showsToken(const Authz& authz, const v1::PreparedQuery& q) {
  auto prefix = store::queryAclPrefix(q);
  if (!prefix) return allowed(authz, acl::Resource::kAcl, "", acl::Access::kWrite);
  return allowed(authz, acl::Resource::kQuery, *prefix, acl::Access::kWrite);
}

std::string queriesJson(const std::vector<v1::PreparedQuery>& queries, const Authz& authz) {
  JsonWriter w;
  w.beginArray();
  for (const auto& q : queries) writePreparedQuery(w, q, showsToken(authz, q));
  w.endArray();
  return w.take();
}

void answer(const RequestPtr& req, const Responder& respond, HttpResponse out) {
  applyPretty(*req, out);
  respond(std::move(out));
}

// The definition in the body, validated, or the 400 that refuses it.
StatusOr<v1::PreparedQuery> definition(const HttpRequest& req) {
  auto q = decodePreparedQuery(req.body);
  if (!q.isOk()) return q.status();
  CAIRN_RETURN_IF_ERROR(store::validatePreparedQuery(*q));
  return q;
}

void proposeSet(ApiContext& ctx, v1::PreparedQuery q, bool create, std::function<void()> done,
                Responder respond) {
  v1::Command cmd;
  *cmd.mutable_prepared_query_set()->mutable_query() = std::move(q);
  cmd.mutable_prepared_query_set()->set_create(create);
  ctx.node.propose(std::move(cmd), [done = std::move(done), respond](auto result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    if (!result->outcome.ok) {
      const auto& errors = result->outcome.errors;
      return respond(textResponse(400, errors.empty() ? "rejected" : errors[0].what));
    }
    done();
  });
}

void createQuery(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto q = definition(*req);
  if (!q.isOk()) return respond(errorResponse(q.status()));
  if (!mayWrite(req->authz, *q)) return respond(permissionDenied());
  std::string id = newUuid();
  q->set_id(id);
  proposeSet(
      ctx, std::move(*q), true,
      [req, respond, id] {
        answer(req, respond,
               jsonResponse(JsonWriter().beginObject().key("ID").string(id).endObject().take()));
      },
      respond);
}

// Why a change to stored query `id` is refused (404 unknown, 403 not writable), or nullopt.
std::optional<HttpResponse> refuseChange(ApiContext& ctx, const HttpRequest& req,
                                         const std::string& id) {
  auto existing = ctx.store.preparedQuery(id);
  if (!existing.query) {
    return textResponse(404, "Cannot modify non-existent prepared query: '" + id + "'");
  }
  if (!mayWrite(req.authz, *existing.query)) return permissionDenied();
  return std::nullopt;
}

void updateQuery(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  auto q = definition(*req);
  if (!q.isOk()) return respond(errorResponse(q.status()));
  if (!mayWrite(req->authz, *q)) return respond(permissionDenied());
  if (auto refused = refuseChange(ctx, *req, id)) return respond(std::move(*refused));
  q->set_id(id);
  proposeSet(
      ctx, std::move(*q), false, [respond] { respond(jsonResponse("")); }, respond);
}

void deleteQuery(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  if (auto refused = refuseChange(ctx, *req, id)) return respond(std::move(*refused));
  v1::Command cmd;
  cmd.mutable_prepared_query_delete()->set_id(id);
  ctx.node.propose(std::move(cmd), [respond](auto result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    respond(jsonResponse(""));
  });
}

// Serves `query` as a read of the queries table; blocking only when `blocking_allowed`.
void serveQueries(ApiContext& ctx, const RequestPtr& req, bool blocking_allowed, QueryFn query,
                  Responder respond) {
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  if (!blocking_allowed) opts->blocking = false;
  serveRead(ctx, req, *opts, tableTarget(store::CatalogIndex::kPreparedQueries), std::move(query),
            std::move(respond));
}

void listQueries(ApiContext& ctx, RequestPtr req, Responder respond) {
  Authz authz = req->authz;
  serveQueries(
      ctx, req, true,
      [&ctx, authz] {
        store::QueryList all = ctx.store.preparedQueries();
        std::vector<v1::PreparedQuery> visible;
        bool management = allowed(authz, acl::Resource::kAcl, "", acl::Access::kWrite);
        for (auto& q : all.queries) {
          bool has_prefix = store::queryAclPrefix(q).has_value();
          if (has_prefix ? mayRead(authz, q) : management) visible.push_back(std::move(q));
        }
        HttpResponse out = jsonResponse(queriesJson(visible, authz));
        if (visible.size() < all.queries.size()) {
          out.setHeader("X-Consul-Results-Filtered-By-ACLs", "true");
        }
        return QueryAnswer{all.index, std::move(out)};
      },
      std::move(respond));
}

void readQuery(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  Authz authz = req->authz;
  serveQueries(
      ctx, req, true,
      [&ctx, authz, id] {
        store::QueryRead r = ctx.store.preparedQuery(id);
        if (!r.query) return QueryAnswer{r.index, queryNotFound()};
        if (!mayRead(authz, *r.query)) return QueryAnswer{r.index, permissionDenied()};
        return QueryAnswer{r.index, jsonResponse(queriesJson({*r.query}, authz))};
      },
      std::move(respond));
}

// The authorizer execution reads the catalog with: the query's Token's when it has one.
StatusOr<Authz> executionAuthz(const ApiContext& ctx, const Authz& caller,
                               const v1::PreparedQuery& q) {
  if (q.token().empty() || ctx.acl == nullptr || !ctx.acl->enabled()) return caller;
  auto resolved = ctx.acl->resolve(q.token());
  if (!resolved.isOk()) return resolved.status();
  return resolved->authz;
}

StatusOr<size_t> limitParam(const QueryParams& query) {
  auto text = query.get("limit");
  if (!text || text->empty()) return size_t{0};
  auto n = parseUint64(*text);
  if (!n) return invalidArgument("Bad limit: " + *text);
  return static_cast<size_t>(*n);
}

// Drops what `authz` may not read, shuffles (as Consul does), puts the near node first and cuts
// to `limit` (0: no limit). Returns whether ACLs removed something.
bool arrange(std::vector<store::ServiceInstance>& nodes, const Authz& authz,
             const std::string& near_node, size_t limit) {
  size_t before = nodes.size();
  std::erase_if(nodes, [&](const store::ServiceInstance& i) {
    return !allowed(authz, acl::Resource::kNode, i.node.node(), acl::Access::kRead) ||
           !allowed(authz, acl::Resource::kService, i.service.service(), acl::Access::kRead);
  });
  bool filtered = nodes.size() < before;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::shuffle(nodes.begin(), nodes.end(), rng);
  store::putNearFirst(nodes, near_node, [](const store::ServiceInstance& i) -> std::string_view {
    return i.node.node();
  });
  if (limit > 0 && nodes.size() > limit) nodes.resize(limit);
  return filtered;
}

void execute(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  auto limit = limitParam(req->query);
  if (!limit.isOk()) return respond(errorResponse(limit.status()));
  Authz caller = req->authz;
  std::string near = req->query.get("near").value_or("");
  serveQueries(
      ctx, req, false,
      [&ctx, caller, id, near, limit = *limit] {
        auto run = store::executePreparedQuery(ctx.store, id, near, ctx.agent.node_name);
        if (!run.isOk()) return QueryAnswer{1, errorResponse(run.status())};
        auto authz = executionAuthz(ctx, caller, run->query);
        if (!authz.isOk()) return QueryAnswer{run->index, textResponse(403, "ACL not found")};
        bool filtered = arrange(run->instances, *authz, run->near_node, limit);
        HttpResponse out =
            jsonResponse(executeJson(run->query, run->instances, ctx.agent.datacenter));
        if (filtered) out.setHeader("X-Consul-Results-Filtered-By-ACLs", "true");
        return QueryAnswer{run->index, std::move(out)};
      },
      std::move(respond));
}

void explain(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  Authz authz = req->authz;
  serveQueries(
      ctx, req, false,
      [&ctx, authz, id] {
        store::QueryRead r = ctx.store.resolvePreparedQuery(id);
        if (!r.query) return QueryAnswer{r.index, queryNotFound()};
        if (!mayRead(authz, *r.query)) return QueryAnswer{r.index, permissionDenied()};
        auto rendered = store::renderPreparedQuery(*r.query, id);
        if (!rendered.isOk()) return QueryAnswer{r.index, errorResponse(rendered.status())};
        JsonWriter w;
        w.beginObject().key("Query");
        writePreparedQuery(w, *rendered, showsToken(authz, *r.query));
        w.endObject();
        return QueryAnswer{r.index, jsonResponse(w.take())};
      },
      std::move(respond));
}

// /v1/query/<id>, /v1/query/<id or name>/execute and /v1/query/<id or name>/explain.
void item(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string rest = suffixAfter(*req, kItem);
  using Action = void (*)(ApiContext&, RequestPtr, Responder, const std::string&);
  for (auto [tail, action] : {std::pair<std::string_view, Action>{kExecute, execute},
                              std::pair<std::string_view, Action>{kExplain, explain}}) {
    if (!rest.ends_with(tail)) continue;
    if (req->method != "GET") {
      HttpResponse out = textResponse(405, "method " + req->method + " not allowed");
      out.setHeader("Allow", "GET");
      return respond(std::move(out));
    }
    std::string target = rest.substr(0, rest.size() - tail.size());
    if (target.empty()) return respond(textResponse(400, "Missing query ID or name"));
    return action(ctx, std::move(req), std::move(respond), target);
  }
  if (rest.empty()) return respond(textResponse(400, "Missing query ID"));
  if (req->method == "GET") return readQuery(ctx, std::move(req), std::move(respond), rest);
  if (req->method == "PUT") return updateQuery(ctx, std::move(req), std::move(respond), rest);
  deleteQuery(ctx, std::move(req), std::move(respond), rest);
}

Handler withDatacenter(ApiContext& ctx, void (*handler)(ApiContext&, RequestPtr, Responder)) {
  return [&ctx, handler](RequestPtr req, Responder respond) {
    if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
    handler(ctx, std::move(req), std::move(respond));
  };
}

void listOrCreate(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (req->method == "GET") return listQueries(ctx, std::move(req), std::move(respond));
  createQuery(ctx, std::move(req), std::move(respond));
}

}  // namespace

void addPreparedQueryRoutes(Router& router, ApiContext& ctx) {
  router.add(Route{std::string(kList), false, {"GET", "POST"}, withDatacenter(ctx, listOrCreate)});
  router.add(Route{std::string(kItem), true, {"GET", "PUT", "DELETE"}, withDatacenter(ctx, item)});
}

}  // namespace cairn::http
