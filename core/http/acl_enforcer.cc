#include "core/http/acl_enforcer.h"

#include <limits>
#include <map>

#include "core/http/agent_handlers_json.h"
#include "core/http/catalog_json.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/http/json_writer.h"
#include "core/http/session_json.h"
#include "core/store/kv_txn.h"

namespace cairn::http {
namespace {

using acl::Access;
using acl::Resource;

Permission need(Resource r, std::string name, Access a, bool whole_prefix = false) {
  return Permission{r, std::move(name), a, whole_prefix};
}

Requirement needs(std::vector<Permission> permissions, ResultFilter filter = ResultFilter::kNone) {
  Requirement out;
  out.permissions = std::move(permissions);
  out.filter = filter;
  return out;
}

Requirement filtered(ResultFilter filter) { return needs({}, filter); }

Requirement nothing() { return Requirement{}; }

Requirement management() {
  Requirement out;
  out.management = true;
  return out;
}

std::string after(const HttpRequest& req, std::string_view prefix) {
  return req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : std::string();
}

Access readOrWrite(const HttpRequest& req) {
  return req.method == "GET" ? Access::kRead : Access::kWrite;
}

Requirement kv(const HttpRequest& req, std::string_view pattern) {
  std::string key = after(req, pattern);
  if (req.method == "GET") {
    if (req.query.has("recurse")) return filtered(ResultFilter::kKvEntries);
    if (req.query.has("keys")) return filtered(ResultFilter::kKvKeys);
    return needs({need(Resource::kKey, key, Access::kRead)});
  }
  if (req.method == "DELETE" && req.query.has("recurse")) {
    return needs({need(Resource::kKey, key, Access::kWrite, true)});
  }
  return needs({need(Resource::kKey, key, Access::kWrite)});
}

// Each operation's key with the access its verb needs. A body that does not decode needs
// nothing here: the handler refuses it with the same decoder before anything happens.
Requirement txn(const HttpRequest& req) {
  auto decoded = decodeTxn(req.body, std::numeric_limits<uint64_t>::max());
  if (!decoded.isOk()) return nothing();
  Requirement out;
  for (const auto& op : decoded->ops()) {
    const v1::KvOp& kv = op.kv();
    Access access = store::isReadVerb(kv.verb()) ? Access::kRead : Access::kWrite;
    out.permissions.push_back(
        need(Resource::kKey, kv.key(), access, kv.verb() == v1::KV_DELETE_TREE));
  }
  return out;
}

Requirement catalogRegister(const HttpRequest& req) {
  auto body = parseJson(req.body);
  if (!body.isOk()) return nothing();
  auto reg = decodeRegister(*body);
  if (!reg.isOk()) return nothing();
  Requirement out = needs({need(Resource::kNode, reg->node().node(), Access::kWrite)});
  if (reg->has_service()) {
    out.permissions.push_back(need(Resource::kService, reg->service().service(), Access::kWrite));
  }
  return out;
}

Requirement catalogDeregister(const HttpRequest& req) {
  auto body = parseJson(req.body);
  if (!body.isOk()) return nothing();
  auto node = stringField(*body, "Node");
  if (!node.isOk()) return nothing();
  return needs({need(Resource::kNode, node->value_or(""), Access::kWrite)});
}

Requirement agentServiceRegister(const HttpRequest& req) {
  auto body = parseJson(req.body);
  if (!body.isOk()) return nothing();
  auto reg = decodeServiceRegistration(*body);
  if (!reg.isOk()) return nothing();
  return needs({need(Resource::kService, reg->service.service(), Access::kWrite)});
}

Requirement sessionCreate(const HttpRequest& req, std::string_view agent_node) {
  auto session = decodeSessionCreate(req.body, std::string(agent_node), 0);
  if (!session.isOk()) return nothing();
  return needs({need(Resource::kSession, session->node(), Access::kWrite)});
}

// Destroy and renew need session:write on the session's node.
Requirement sessionWrite(const HttpRequest& req, std::string_view pattern,
                         const store::StateStore& store) {
  auto found = store.session(after(req, pattern));
  std::string node = found.sessions.empty() ? "" : found.sessions.front().node();
  return needs({need(Resource::kSession, node, Access::kWrite)});
}

Requirement aclRoute(std::string_view pattern, const HttpRequest& req) {
  if (pattern == "/v1/acl/bootstrap") {
    Requirement out;
    out.token_optional = true;
    return out;
  }
  if (pattern == "/v1/acl/token/" && req.method == "GET" && after(req, pattern) == "self") {
    return nothing();  // any valid token may read itself
  }
  return needs({need(Resource::kAcl, "", readOrWrite(req))});
}

using Rule = Requirement (*)(std::string_view pattern, const HttpRequest& req,
                             std::string_view agent_node, const store::StateStore& store);

// Routes whose requirement does not depend on the request beyond its method.
const std::map<std::string_view, Rule>& table() {
  static const std::map<std::string_view, Rule> rules = {
      {"/v1/kv/", [](auto p, const auto& r, auto, const auto&) { return kv(r, p); }},
      {"/v1/txn", [](auto, const auto& r, auto, const auto&) { return txn(r); }},
      {"/v1/status/leader", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/v1/status/peers", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      // A Kubernetes readinessProbe sends no token; the answer says no more than status/leader.
      {"/v1/operator/raft/self-health",
       [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/v1/operator/raft/configuration",
       [](auto, const auto&, auto, const auto&) {
         return needs({need(Resource::kOperator, "", Access::kRead)});
       }},
      {"/v1/operator/raft/peer",
       [](auto, const auto&, auto, const auto&) {
         return needs({need(Resource::kOperator, "", Access::kWrite)});
       }},
      {"/v1/operator/raft/transfer-leader",
       [](auto, const auto&, auto, const auto&) {
         return needs({need(Resource::kOperator, "", Access::kWrite)});
       }},
      {"/v1/operator/autopilot/health",
       [](auto, const auto&, auto, const auto&) {
         return needs({need(Resource::kOperator, "", Access::kRead)});
       }},
      {"/v1/operator/autopilot/configuration",
       [](auto, const auto& r, auto, const auto&) {
         return needs({need(Resource::kOperator, "", readOrWrite(r))});
       }},
      {"/v1/snapshot", [](auto, const auto&, auto, const auto&) { return management(); }},
      {"/v1/catalog/register",
       [](auto, const auto& r, auto, const auto&) { return catalogRegister(r); }},
      {"/v1/catalog/deregister",
       [](auto, const auto& r, auto, const auto&) { return catalogDeregister(r); }},
      {"/v1/catalog/datacenters", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/v1/catalog/nodes",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kNodes); }},
      {"/v1/catalog/services",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kServiceNames); }},
      {"/v1/catalog/service/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kService, after(r, p), Access::kRead)},
                      ResultFilter::kServiceNodes);
       }},
      {"/v1/catalog/node/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kNode, after(r, p), Access::kRead)});
       }},
      {"/v1/catalog/node-services/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kNode, after(r, p), Access::kRead)});
       }},
      {"/v1/health/node/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kNode, after(r, p), Access::kRead)});
       }},
      {"/v1/health/checks/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kService, after(r, p), Access::kRead)},
                      ResultFilter::kChecks);
       }},
      {"/v1/health/service/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kService, after(r, p), Access::kRead)},
                      ResultFilter::kHealthEntries);
       }},
      {"/v1/health/state/",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kChecks); }},
      {"/v1/agent/self",
       [](auto, const auto&, auto n, const auto&) {
         return needs({need(Resource::kAgent, std::string(n), Access::kRead)});
       }},
      {"/v1/agent/metrics",
       [](auto, const auto&, auto n, const auto&) {
         return needs({need(Resource::kAgent, std::string(n), Access::kRead)});
       }},
      {"/v1/agent/monitor",
       [](auto, const auto&, auto n, const auto&) {
         return needs({need(Resource::kAgent, std::string(n), Access::kRead)});
       }},
      {"/metrics",
       [](auto, const auto&, auto n, const auto&) {
         return needs({need(Resource::kAgent, std::string(n), Access::kRead)});
       }},
      {"/v1/agent/members",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kMembers); }},
      {"/v1/agent/services",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kAgentServices); }},
      {"/v1/agent/checks",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kAgentChecks); }},
      // By service ID: the agent's read permission (Consul checks the service's name).
      {"/v1/agent/service/",
       [](auto, const auto& r, auto n, const auto&) {
         if (r.method == "GET")
           return needs({need(Resource::kAgent, std::string(n), Access::kRead)});
         return needs({need(Resource::kNode, std::string(n), Access::kWrite)});
       }},
      {"/v1/agent/health/service/id/",
       [](auto, const auto&, auto n, const auto&) {
         return needs({need(Resource::kAgent, std::string(n), Access::kRead)});
       }},
      {"/v1/agent/health/service/name/",
       [](auto p, const auto& r, auto, const auto&) {
         return needs({need(Resource::kService, after(r, p), Access::kRead)});
       }},
      {"/v1/agent/reload",
       [](auto, const auto&, auto n, const auto&) {
         return needs({need(Resource::kAgent, std::string(n), Access::kWrite)});
       }},
      {"/v1/agent/service/register",
       [](auto, const auto& r, auto, const auto&) { return agentServiceRegister(r); }},
      {"/v1/agent/join/",
       [](auto, const auto&, auto n,
          const auto&) { return needs({need(Resource::kAgent, std::string(n), Access::kWrite)}); }},
      {"/v1/agent/force-leave/",
       [](auto, const auto&, auto,
          const auto&) { return needs({need(Resource::kOperator, "", Access::kWrite)}); }},
      // Consul's agent leave needs operator:write too (not agent:write: the agent stops).
      {"/v1/agent/leave",
       [](auto, const auto&, auto,
          const auto&) { return needs({need(Resource::kOperator, "", Access::kWrite)}); }},
      {"/v1/session/create",
       [](auto, const auto& r, auto n, const auto&) { return sessionCreate(r, n); }},
      {"/v1/session/destroy/",
       [](auto p, const auto& r, auto, const auto& s) { return sessionWrite(r, p, s); }},
      {"/v1/session/renew/",
       [](auto p, const auto& r, auto, const auto& s) { return sessionWrite(r, p, s); }},
      {"/v1/session/info/",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kSessions); }},
      {"/v1/session/node/",
       [](auto p, const auto& r, auto,
          const auto&) { return needs({need(Resource::kSession, after(r, p), Access::kRead)}); }},
      {"/v1/session/list",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kSessions); }},
      {"/v1/event/fire/",
       [](auto p, const auto& r, auto,
          const auto&) { return needs({need(Resource::kEvent, after(r, p), Access::kWrite)}); }},
      // Prepared queries: the handlers check query:read/write against the stored query's name
      // and filter what execution returns (prepared_query_handlers.cc).
      {"/v1/query", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/v1/query/", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/v1/event/list",
       [](auto, const auto&, auto, const auto&) { return filtered(ResultFilter::kEvents); }},
      // The web UI's static files carry no data; its API calls are checked like any other.
      {"/", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/ui", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/ui/", [](auto, const auto&, auto, const auto&) { return nothing(); }},
      {"/ui/assets/", [](auto, const auto&, auto, const auto&) { return nothing(); }},
  };
  return rules;
}

// The agent's own node: its maintenance, checks and service changes by ID need node:write on it
// (Consul checks the service's name for service checks).
bool agentNodeWrite(std::string_view pattern) {
  for (std::string_view p :
       {"/v1/agent/service/deregister/", "/v1/agent/check/register", "/v1/agent/check/deregister/",
        "/v1/agent/check/pass/", "/v1/agent/check/warn/", "/v1/agent/check/fail/",
        "/v1/agent/check/update/", "/v1/agent/maintenance", "/v1/agent/service/maintenance/"}) {
    if (pattern == p) return true;
  }
  return false;
}

bool canRead(const acl::Authorizer& authz, Resource r, std::string_view name) {
  return authz.allowed(r, name, Access::kRead);
}

std::string stringAt(const web::json::value& object, std::string_view field) {
  const web::json::value* v = findField(object, field);
  return v != nullptr && v->is_string() ? v->as_string() : std::string();
}

bool keepElement(ResultFilter filter, const acl::Authorizer& authz, std::string_view agent_node,
                 const web::json::value& e) {
  switch (filter) {
    case ResultFilter::kKvEntries:
      return canRead(authz, Resource::kKey, stringAt(e, "Key"));
    case ResultFilter::kKvKeys:
      return e.is_string() && canRead(authz, Resource::kKey, e.as_string());
    case ResultFilter::kNodes:
      return canRead(authz, Resource::kNode, stringAt(e, "Node"));
    case ResultFilter::kServiceNodes:
      return canRead(authz, Resource::kNode, stringAt(e, "Node")) &&
             canRead(authz, Resource::kService, stringAt(e, "ServiceName"));
    case ResultFilter::kHealthEntries: {
      const web::json::value* node = findField(e, "Node");
      const web::json::value* service = findField(e, "Service");
      return node != nullptr && service != nullptr &&
             canRead(authz, Resource::kNode, stringAt(*node, "Node")) &&
             canRead(authz, Resource::kService, stringAt(*service, "Service"));
    }
    case ResultFilter::kChecks: {
      std::string service = stringAt(e, "ServiceName");
      return canRead(authz, Resource::kNode, stringAt(e, "Node")) &&
             (service.empty() || canRead(authz, Resource::kService, service));
    }
    case ResultFilter::kSessions:
      return canRead(authz, Resource::kSession, stringAt(e, "Node"));
    case ResultFilter::kEvents:
      return canRead(authz, Resource::kEvent, stringAt(e, "Name"));
    case ResultFilter::kAgentServices:
      return canRead(authz, Resource::kService, stringAt(e, "Service"));
    case ResultFilter::kAgentChecks: {
      std::string service = stringAt(e, "ServiceName");
      return service.empty() ? canRead(authz, Resource::kNode, agent_node)
                             : canRead(authz, Resource::kService, service);
    }
    case ResultFilter::kMembers:
      return canRead(authz, Resource::kNode, stringAt(e, "Name"));
    case ResultFilter::kServiceNames:
    case ResultFilter::kNone:
      return true;
  }
  return true;
}

}  // namespace

Requirement requirementFor(std::string_view pattern, const HttpRequest& request,
                           std::string_view agent_node, const store::StateStore& store) {
  if (pattern.starts_with("/v1/acl/")) return aclRoute(pattern, request);
  if (agentNodeWrite(pattern)) {
    return needs({need(Resource::kNode, std::string(agent_node), Access::kWrite)});
  }
  const auto& rules = table();
  if (auto it = rules.find(pattern); it != rules.end()) {
    return it->second(pattern, request, agent_node, store);
  }
  return management();  // undeclared: closed
}

bool filterResults(ResultFilter filter, const acl::Authorizer& authz, std::string_view agent_node,
                   std::string* body) {
  if (filter == ResultFilter::kNone || authz.isManagement()) return false;
  auto parsed = parseJson(*body);
  if (!parsed.isOk()) return false;
  web::json::value& v = *parsed;
  bool removed = false;
  if (v.is_array()) {
    web::json::value kept = web::json::value::array();
    size_t n = 0;
    for (const auto& e : v.as_array()) {
      if (keepElement(filter, authz, agent_node, e)) {
        kept[n++] = e;
      } else {
        removed = true;
      }
    }
    if (removed) *body = kept.serialize();
    return removed;
  }
  if (v.is_object()) {
    web::json::value kept = web::json::value::object();
    for (const auto& [key, e] : v.as_object()) {
      bool keep = filter == ResultFilter::kServiceNames ? canRead(authz, Resource::kService, key)
                                                        : keepElement(filter, authz, agent_node, e);
      if (keep) {
        kept[key] = e;
      } else {
        removed = true;
      }
    }
    if (removed) *body = kept.serialize();
  }
  return removed;
}

std::string permissionDenied(const AclCaller& caller, const Permission& permission) {
  std::string who =
      caller.anonymous ? "anonymous token" : "token with AccessorID '" + caller.accessor_id + "'";
  std::string what = std::string(acl::resourceName(permission.resource)) + ":" +
                     acl::accessName(permission.access);
  std::string out = "Permission denied: " + who + " lacks permission '" + what + "'";
  bool global = permission.resource == Resource::kAcl ||
                permission.resource == Resource::kOperator ||
                permission.resource == Resource::kKeyring ||
                permission.resource == Resource::kMesh || permission.resource == Resource::kPeering;
  if (!global) out += " on " + JsonWriter().string(permission.name).take();
  return out;
}

namespace {

// The caller of a request, or the answer refusing it (nullopt caller and refusal: a token-optional
// route let an unknown token through).
struct Admission {
  std::optional<AclCaller> caller;
  std::optional<HttpResponse> refusal;
};

Admission admit(const AclResolver& resolver, const Requirement& required, std::string_view secret) {
  auto caller = resolver.resolve(secret);
  if (!caller.isOk()) {
    if (required.token_optional) return {};
    return {std::nullopt, textResponse(403, "ACL not found")};
  }
  const acl::Authorizer& authz = *caller->authz;
  if (required.management && !authz.isManagement()) {
    return {std::nullopt,
            textResponse(403, permissionDenied(*caller, need(Resource::kAcl, "", Access::kWrite)))};
  }
  for (const Permission& p : required.permissions) {
    bool ok = p.whole_prefix ? authz.allowedPrefixWrite(p.resource, p.name)
                             : authz.allowed(p.resource, p.name, p.access);
    if (!ok) return {std::nullopt, textResponse(403, permissionDenied(*caller, p))};
  }
  return {std::move(*caller), std::nullopt};
}

// Removes what `authz` may not read from a list answer, and marks it.
void filterAnswer(ResultFilter filter, const acl::Authorizer& authz, std::string_view agent_node,
                  bool pretty, HttpResponse& response) {
  if (filter == ResultFilter::kNone || authz.isManagement()) return;
  if (response.status != 200 || !filterResults(filter, authz, agent_node, &response.body)) return;
  bool kv = filter == ResultFilter::kKvEntries || filter == ResultFilter::kKvKeys;
  if (kv && response.body == "[]") {
    response.status = 404;  // as for a prefix with no keys (Consul filters first too)
    response.body.clear();
  } else if (pretty) {
    response.body = prettyJson(response.body);
  }
  response.setHeader("X-Consul-Results-Filtered-By-ACLs", "true");
}

}  // namespace

// A responder that rewrites the answer with `rewrite`, then sends it through `inner`, and that
// keeps `inner`'s cancellation: a handler that waits (a blocking query) registers onCancel on
// the new responder, and the client leaving (inner.cancel()) reaches it.
Responder rewriting(Responder inner, std::function<void(HttpResponse&)> rewrite) {
  // `self` is filled once the responder exists. The references it closes are broken when the
  // request is answered (both responders drop their functions then).
  auto self = std::make_shared<std::optional<Responder>>();
  Responder out(
      [inner, rewrite = std::move(rewrite)](HttpResponse response) {
        rewrite(response);
        inner(std::move(response));
      },
      [inner, self] {  // the handler starts waiting
        inner.onCancel([self] {
          if (*self) (*self)->cancel();
        });
      });
  *self = out;
  return out;
}

Router::Guard aclGuard(const AclResolver& resolver, const store::StateStore& store,
                       std::string agent_node) {
  return [&resolver, &store, agent_node = std::move(agent_node)](
             const Route& route, const HttpRequest& req,
             Responder& respond) -> std::optional<HttpResponse> {
    Requirement required = requirementFor(route.pattern, req, agent_node, store);
    std::string secret = requestToken(req);
    Admission admitted = admit(resolver, required, secret);
    if (admitted.refusal) return std::move(admitted.refusal);
    if (!admitted.caller) return std::nullopt;
    req.authz = admitted.caller->authz;
    // A blocking query may wait minutes: its answer is checked again against the token as it is
    // then (deleted: 403; a narrower policy: filtered more). serveRead ends its wait when the
    // token's fingerprint moves (read_query.cc), so that happens promptly.
    bool blocking = req.query.has("index");
    bool filters = required.filter != ResultFilter::kNone && !req.authz->isManagement();
    if (!blocking && !filters) return std::nullopt;
    respond = rewriting(respond, [&resolver, required = std::move(required), blocking,
                                  secret = blocking ? std::move(secret) : std::string(),
                                  authz = admitted.caller->authz, agent_node,
                                  pretty = req.query.has("pretty")](HttpResponse& response) {
      std::shared_ptr<const acl::Authorizer> now = authz;
      if (blocking) {
        Admission again = admit(resolver, required, secret);
        if (again.refusal) {
          response = std::move(*again.refusal);
          return;
        }
        if (again.caller) now = again.caller->authz;
      }
      filterAnswer(required.filter, *now, agent_node, pretty, response);
    });
    return std::nullopt;
  };
}

}  // namespace cairn::http
