// /v1/acl/*: Consul's ACL API (docs/security.md). Writes go through the log as Acl* commands
// (proto/cairn/v1/acl.proto) whose IDs, secrets, hashes and times are chosen here; reads are
// blocking queries on the tokens, policies or roles table. What each route needs (acl:read,
// acl:write) is declared in acl_permissions.cc and enforced by the router before these run.
#include <chrono>

#include "core/acl/authorizer.h"
#include "core/acl/secrets.h"
#include "core/base/duration.h"
#include "core/http/acl_json.h"
#include "core/http/acl_resolver.h"
#include "core/http/handlers.h"
#include "core/http/read_query.h"
#include "core/store/acl_apply.h"
#include "core/store/catalog_table.h"

namespace cairn::http {
namespace {

constexpr std::string_view kTokenPrefix = "/v1/acl/token/";
constexpr std::string_view kPolicyPrefix = "/v1/acl/policy/";
constexpr std::string_view kPolicyNamePrefix = "/v1/acl/policy/name/";
constexpr std::string_view kRolePrefix = "/v1/acl/role/";
constexpr std::string_view kRoleNamePrefix = "/v1/acl/role/name/";
constexpr std::string_view kCloneSuffix = "/clone";
// Consul's default bounds on ExpirationTTL (acl.token_min/max_expiration_ttl).
constexpr int64_t kMinTtlNs = 60'000'000'000;
constexpr int64_t kMaxTtlNs = 24 * 3600 * 1'000'000'000LL;

constexpr std::string_view kManagementRules = R"(acl = "write"
agent_prefix "" { policy = "write" }
event_prefix "" { policy = "write" }
key_prefix "" { policy = "write" }
keyring = "write"
node_prefix "" { policy = "write" }
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" { policy = "write" }
service_prefix "" { policy = "write" intentions = "write" }
session_prefix "" { policy = "write" }
)";

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

HttpResponse aclNotFound() { return textResponse(403, "ACL not found"); }

std::string suffix(const HttpRequest& req, std::string_view prefix) {
  return req.path.size() > prefix.size() ? req.path.substr(prefix.size()) : std::string();
}

// Whether the caller may see secrets (acl:write); everything is visible while ACLs are off.
bool callerWrites(const HttpRequest& req) {
  return !req.authz || req.authz->allowed(acl::Resource::kAcl, "", acl::Access::kWrite);
}

LinkName policyNames(ApiContext& ctx) {
  return [&ctx](const std::string& id) -> std::optional<std::string> {
    auto p = ctx.store.aclPolicy(id);
    if (!p.row) return std::nullopt;
    return p.row->name();
  };
}

LinkName roleNames(ApiContext& ctx) {
  return [&ctx](const std::string& id) -> std::optional<std::string> {
    auto r = ctx.store.aclRole(id);
    if (!r.row) return std::nullopt;
    return r.row->name();
  };
}

// Resolves links given by ID or name to stored policies (roles when `roles`).
Status resolveLinks(ApiContext& ctx, const std::vector<AclLinkRequest>& links, bool roles,
                    google::protobuf::RepeatedPtrField<v1::AclLink>* out) {
  for (const AclLinkRequest& link : links) {
    std::optional<std::pair<std::string, std::string>> found;
    if (roles) {
      auto r = link.id.empty() ? ctx.store.aclRole(link.name, true) : ctx.store.aclRole(link.id);
      if (r.row) found.emplace(r.row->id(), r.row->name());
    } else {
      auto p =
          link.id.empty() ? ctx.store.aclPolicy(link.name, true) : ctx.store.aclPolicy(link.id);
      if (p.row) found.emplace(p.row->id(), p.row->name());
    }
    if (!found) {
      return invalidArgument(std::string("cannot find ") + (roles ? "role" : "policy") + " \"" +
                             (link.id.empty() ? link.name : link.id) + "\"");
    }
    bool repeated = false;
    for (const auto& l : *out) repeated |= l.id() == found->first;
    if (repeated) continue;
    v1::AclLink* added = out->Add();
    added->set_id(found->first);
    added->set_name(found->second);
  }
  return Status::ok();
}

// Proposes `cmd`; on success calls `done` (on the proposer's callback thread). A refused command
// answers 400 with its text, or 403 when it is the bootstrap refusal.
void propose(ApiContext& ctx, v1::Command cmd, std::function<void()> done, Responder respond) {
  ctx.node.propose(std::move(cmd), [done = std::move(done), respond](auto result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    const store::TxnOutcome& outcome = result->outcome;
    if (!outcome.ok) {
      std::string what = outcome.errors.empty() ? "rejected" : outcome.errors[0].what;
      int status = what.rfind(store::kBootstrapRefused, 0) == 0 ? 403 : 400;
      return respond(textResponse(status, what));
    }
    done();
  });
}

void answer(const RequestPtr& req, const Responder& respond, std::string json) {
  HttpResponse out = jsonResponse(std::move(json));
  applyPretty(*req, out);
  respond(std::move(out));
}

// ---- bootstrap ----

void bootstrap(ApiContext& ctx, RequestPtr req, Responder respond) {
  v1::Command cmd;
  v1::AclBootstrap* b = cmd.mutable_acl_bootstrap();
  int64_t now = nowNs();
  v1::AclPolicy* policy = b->mutable_management_policy();
  policy->set_id(std::string(store::kManagementPolicyId));
  policy->set_name(std::string(store::kManagementPolicyName));
  policy->set_description("Builtin Policy that grants unlimited access");
  policy->set_rules(std::string(kManagementRules));
  policy->set_hash(policyHash(*policy));
  v1::AclToken* anonymous = b->mutable_anonymous();
  anonymous->set_accessor_id(std::string(store::kAnonymousAccessorId));
  anonymous->set_secret_id(std::string(store::kAnonymousSecretId));
  anonymous->set_description("Anonymous Token");
  anonymous->set_create_time_unix_ns(now);
  anonymous->set_hash(tokenHash(*anonymous));
  v1::AclToken* token = b->mutable_token();
  std::string accessor = acl::randomUuid();
  token->set_accessor_id(accessor);
  token->set_secret_id(acl::randomUuid());
  token->set_description("Bootstrap Token (Global Management)");
  v1::AclLink* link = token->add_policies();
  link->set_id(std::string(store::kManagementPolicyId));
  link->set_name(std::string(store::kManagementPolicyName));
  token->set_management(true);
  token->set_create_time_unix_ns(now);
  token->set_hash(tokenHash(*token));
  propose(
      ctx, std::move(cmd),
      [&ctx, req, respond, accessor] {
        auto stored = ctx.store.aclToken(accessor);
        if (!stored.row) return respond(textResponse(500, "bootstrap token not found"));
        answer(req, respond, tokenJson(*stored.row, policyNames(ctx), roleNames(ctx), true));
      },
      respond);
}

// ---- tokens ----

// Fills `token` from a create or update body. `existing`: the token being updated.
Status fillToken(ApiContext& ctx, const TokenRequest& body, const v1::AclToken* existing,
                 v1::AclToken& token) {
  token.set_description(body.description);
  token.clear_policies();
  token.clear_roles();
  CAIRN_RETURN_IF_ERROR(resolveLinks(ctx, body.policies, false, token.mutable_policies()));
  CAIRN_RETURN_IF_ERROR(resolveLinks(ctx, body.roles, true, token.mutable_roles()));
  token.set_management(false);
  for (const auto& p : token.policies()) {
    if (p.id() == store::kManagementPolicyId) token.set_management(true);
  }
  if (existing != nullptr) {
    if (body.local != existing->local()) {
      return invalidArgument("Cannot toggle local mode of " + existing->accessor_id());
    }
    if (body.expiration_ttl_ns != 0 ||
        (body.expiration_time_unix_ns != 0 &&
         body.expiration_time_unix_ns != existing->expiration_time_unix_ns())) {
      return invalidArgument("Cannot change expiration time of " + existing->accessor_id());
    }
    return Status::ok();
  }
  token.set_local(body.local);
  int64_t now = nowNs();
  token.set_create_time_unix_ns(now);
  if (body.expiration_ttl_ns != 0) {
    if (body.expiration_ttl_ns < kMinTtlNs || body.expiration_ttl_ns > kMaxTtlNs) {
      return invalidArgument("Invalid Token: Expiration TTL '" +
                             formatGoDuration(Nanos(body.expiration_ttl_ns)) +
                             "' should be between 1m0s and 24h0m0s");
    }
    token.set_expiration_ttl_ns(body.expiration_ttl_ns);
    token.set_expiration_time_unix_ns(now + body.expiration_ttl_ns);
  } else if (body.expiration_time_unix_ns != 0) {
    if (body.expiration_time_unix_ns <= now) {
      return invalidArgument("Invalid Token: ExpirationTime cannot be in the past");
    }
    token.set_expiration_time_unix_ns(body.expiration_time_unix_ns);
  }
  return Status::ok();
}

void proposeToken(ApiContext& ctx, RequestPtr req, Responder respond, v1::AclToken token,
                  bool create) {
  token.set_hash(tokenHash(token));
  std::string accessor = token.accessor_id();
  v1::Command cmd;
  *cmd.mutable_acl_token_set()->mutable_token() = std::move(token);
  cmd.mutable_acl_token_set()->set_create(create);
  propose(
      ctx, std::move(cmd),
      [&ctx, req, respond, accessor] {
        auto stored = ctx.store.aclToken(accessor);
        if (!stored.row) return respond(aclNotFound());  // deleted meanwhile
        answer(req, respond, tokenJson(*stored.row, policyNames(ctx), roleNames(ctx), true));
      },
      respond);
}

void tokenCreate(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto body = decodeTokenRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  v1::AclToken token;
  token.set_accessor_id(body->accessor_id.value_or(acl::randomUuid()));
  token.set_secret_id(body->secret_id.value_or(acl::randomUuid()));
  if (token.accessor_id() == store::kAnonymousAccessorId ||
      token.secret_id() == store::kAnonymousSecretId) {
    return respond(textResponse(400, "Invalid Token: the anonymous token's IDs are reserved"));
  }
  if (Status s = fillToken(ctx, *body, nullptr, token); !s.isOk()) {
    return respond(errorResponse(s));
  }
  proposeToken(ctx, std::move(req), std::move(respond), std::move(token), true);
}

void tokenUpdate(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  auto body = decodeTokenRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  if (body->accessor_id && *body->accessor_id != id) {
    return respond(textResponse(400, "AccessorID in URL and payload do not match"));
  }
  auto existing = ctx.store.aclToken(id);
  if (!existing.row) return respond(textResponse(400, "Cannot find token to update"));
  if (body->secret_id && *body->secret_id != existing.row->secret_id()) {
    return respond(textResponse(400, "Changing a token's SecretID is not permitted"));
  }
  v1::AclToken token = *existing.row;
  if (Status s = fillToken(ctx, *body, &*existing.row, token); !s.isOk()) {
    return respond(errorResponse(s));
  }
  proposeToken(ctx, std::move(req), std::move(respond), std::move(token), false);
}

void tokenClone(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  auto body = decodeTokenRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  auto existing = ctx.store.aclToken(id);
  if (!existing.row) return respond(aclNotFound());
  if (existing.row->accessor_id() == store::kAnonymousAccessorId) {
    return respond(textResponse(400, "Cannot clone the anonymous token"));
  }
  v1::AclToken token = *existing.row;
  token.set_accessor_id(acl::randomUuid());
  token.set_secret_id(acl::randomUuid());
  token.set_description(body->description.empty() ? existing.row->description()
                                                  : body->description);
  token.set_create_time_unix_ns(nowNs());
  proposeToken(ctx, std::move(req), std::move(respond), std::move(token), true);
}

void tokenDelete(ApiContext& ctx, RequestPtr, Responder respond, const std::string& id) {
  if (id == store::kAnonymousAccessorId) {
    return respond(textResponse(400, "Delete operation not permitted on the anonymous token"));
  }
  v1::Command cmd;
  cmd.mutable_acl_token_delete()->set_accessor_id(id);
  propose(
      ctx, std::move(cmd), [respond] { respond(jsonResponse("true")); }, respond);
}

// A blocking read on one of the ACL tables.
void serveAcl(ApiContext& ctx, RequestPtr req, store::CatalogIndex table, QueryFn query,
              Responder respond) {
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  serveRead(ctx, req, *opts, store::WatchTarget{store::catalogWatchKey(table), false},
            std::move(query), std::move(respond));
}

QueryAnswer notFoundAnswer(uint64_t index) { return QueryAnswer{index, aclNotFound()}; }

void tokenRead(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  bool secret = callerWrites(*req);
  serveAcl(
      ctx, req, store::CatalogIndex::kAclTokens,
      [&ctx, id, secret] {
        auto t = ctx.store.aclToken(id);
        if (!t.row) return notFoundAnswer(t.index);
        return QueryAnswer{
            t.index, jsonResponse(tokenJson(*t.row, policyNames(ctx), roleNames(ctx), secret))};
      },
      std::move(respond));
}

// The caller's own token (any valid token may read itself, secret included).
void tokenSelf(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string secret = requestToken(*req);
  if (secret.empty()) secret = ctx.acl->settings().default_token;
  auto caller = ctx.acl->resolve(secret);
  if (!caller.isOk()) return respond(aclNotFound());
  if (caller->accessor_id == kInitialManagementAccessorId) {
    v1::AclToken t;
    t.set_accessor_id(std::string(kInitialManagementAccessorId));
    t.set_secret_id(secret);
    t.set_description("Initial Management Token (from the agent configuration)");
    t.add_policies()->set_id(std::string(store::kManagementPolicyId));
    return answer(req, respond, tokenJson(t, policyNames(ctx), roleNames(ctx), true));
  }
  auto t = ctx.store.aclToken(caller->accessor_id);
  if (!t.row) return respond(aclNotFound());
  answer(req, respond, tokenJson(*t.row, policyNames(ctx), roleNames(ctx), true));
}

void tokenList(ApiContext& ctx, RequestPtr req, Responder respond) {
  bool secret = callerWrites(*req);
  std::string policy = req->query.get("policy").value_or("");
  std::string role = req->query.get("role").value_or("");
  serveAcl(
      ctx, req, store::CatalogIndex::kAclTokens,
      [&ctx, secret, policy, role] {
        auto list = ctx.store.aclTokens();
        std::vector<v1::AclToken> kept;
        for (auto& t : list.rows) {
          auto holds = [](const auto& links, const std::string& id) {
            for (const auto& l : links) {
              if (l.id() == id) return true;
            }
            return false;
          };
          if (!policy.empty() && !holds(t.policies(), policy)) continue;
          if (!role.empty() && !holds(t.roles(), role)) continue;
          kept.push_back(std::move(t));
        }
        return QueryAnswer{
            list.index, jsonResponse(tokensJson(kept, policyNames(ctx), roleNames(ctx), secret))};
      },
      std::move(respond));
}

void tokenRoute(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string rest = suffix(*req, kTokenPrefix);
  if (rest == "self" && req->method == "GET") return tokenSelf(ctx, req, std::move(respond));
  if (rest.empty()) return respond(textResponse(400, "Missing token ID"));
  if (rest.size() > kCloneSuffix.size() && rest.ends_with(kCloneSuffix)) {
    if (req->method != "PUT") return respond(textResponse(405, "method not allowed"));
    std::string id = rest.substr(0, rest.size() - kCloneSuffix.size());
    return tokenClone(ctx, req, std::move(respond), id);
  }
  if (req->method == "GET") return tokenRead(ctx, req, std::move(respond), rest);
  if (req->method == "PUT") return tokenUpdate(ctx, req, std::move(respond), rest);
  tokenDelete(ctx, req, std::move(respond), rest);
}

// ---- policies ----

void proposePolicy(ApiContext& ctx, RequestPtr req, Responder respond, v1::AclPolicy policy,
                   bool create) {
  policy.set_hash(policyHash(policy));
  std::string id = policy.id();
  v1::Command cmd;
  *cmd.mutable_acl_policy_set()->mutable_policy() = std::move(policy);
  cmd.mutable_acl_policy_set()->set_create(create);
  propose(
      ctx, std::move(cmd),
      [&ctx, req, respond, id] {
        auto stored = ctx.store.aclPolicy(id);
        if (!stored.row) return respond(aclNotFound());
        answer(req, respond, policyJson(*stored.row));
      },
      respond);
}

void fillPolicy(const PolicyRequest& body, v1::AclPolicy& policy) {
  policy.set_name(body.name);
  policy.set_description(body.description);
  policy.set_rules(body.rules);
  policy.clear_datacenters();
  for (const auto& dc : body.datacenters) policy.add_datacenters(dc);
}

void policyCreate(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto body = decodePolicyRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  if (body->id) return respond(textResponse(400, "Cannot specify an ID when creating a policy"));
  v1::AclPolicy policy;
  policy.set_id(acl::randomUuid());
  fillPolicy(*body, policy);
  proposePolicy(ctx, std::move(req), std::move(respond), std::move(policy), true);
}

void policyUpdate(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  auto body = decodePolicyRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  if (body->id && *body->id != id) {
    return respond(textResponse(400, "Policy ID in URL and payload do not match"));
  }
  auto existing = ctx.store.aclPolicy(id);
  if (!existing.row) return respond(textResponse(400, "Cannot find policy " + id));
  if (id == store::kManagementPolicyId &&
      (body->name != existing.row->name() || body->rules != existing.row->rules())) {
    return respond(
        textResponse(400,
                     "Changing the Rules or Name of the builtin global-management policy is not "
                     "permitted"));
  }
  v1::AclPolicy policy = *existing.row;
  fillPolicy(*body, policy);
  proposePolicy(ctx, std::move(req), std::move(respond), std::move(policy), false);
}

void policyRead(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& key,
                bool by_name) {
  serveAcl(
      ctx, req, store::CatalogIndex::kAclPolicies,
      [&ctx, key, by_name] {
        auto p = ctx.store.aclPolicy(key, by_name);
        if (!p.row) return notFoundAnswer(p.index);
        return QueryAnswer{p.index, jsonResponse(policyJson(*p.row))};
      },
      std::move(respond));
}

void policyList(ApiContext& ctx, RequestPtr req, Responder respond) {
  serveAcl(
      ctx, req, store::CatalogIndex::kAclPolicies,
      [&ctx] {
        auto list = ctx.store.aclPolicies();
        return QueryAnswer{list.index, jsonResponse(policiesJson(list.rows))};
      },
      std::move(respond));
}

void policyRoute(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (req->path.starts_with(kPolicyNamePrefix)) {
    if (req->method != "GET") return respond(textResponse(405, "method not allowed"));
    std::string name = suffix(*req, kPolicyNamePrefix);
    if (name.empty()) return respond(textResponse(400, "Missing policy Name"));
    return policyRead(ctx, req, std::move(respond), name, true);
  }
  std::string id = suffix(*req, kPolicyPrefix);
  if (id.empty()) return respond(textResponse(400, "Missing policy ID"));
  if (req->method == "GET") return policyRead(ctx, req, std::move(respond), id, false);
  if (req->method == "PUT") return policyUpdate(ctx, req, std::move(respond), id);
  v1::Command cmd;
  cmd.mutable_acl_policy_delete()->set_id(id);
  propose(
      ctx, std::move(cmd), [respond] { respond(jsonResponse("true")); }, respond);
}

// ---- roles ----

void proposeRole(ApiContext& ctx, RequestPtr req, Responder respond, v1::AclRole role,
                 bool create) {
  role.set_hash(roleHash(role));
  std::string id = role.id();
  v1::Command cmd;
  *cmd.mutable_acl_role_set()->mutable_role() = std::move(role);
  cmd.mutable_acl_role_set()->set_create(create);
  propose(
      ctx, std::move(cmd),
      [&ctx, req, respond, id] {
        auto stored = ctx.store.aclRole(id);
        if (!stored.row) return respond(aclNotFound());
        answer(req, respond, roleJson(*stored.row, policyNames(ctx)));
      },
      respond);
}

Status fillRole(ApiContext& ctx, const RoleRequest& body, v1::AclRole& role) {
  role.set_name(body.name);
  role.set_description(body.description);
  role.clear_policies();
  return resolveLinks(ctx, body.policies, false, role.mutable_policies());
}

void roleCreate(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto body = decodeRoleRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  if (body->id) return respond(textResponse(400, "Cannot specify an ID when creating a role"));
  v1::AclRole role;
  role.set_id(acl::randomUuid());
  if (Status s = fillRole(ctx, *body, role); !s.isOk()) return respond(errorResponse(s));
  proposeRole(ctx, std::move(req), std::move(respond), std::move(role), true);
}

void roleUpdate(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& id) {
  auto body = decodeRoleRequest(req->body);
  if (!body.isOk()) return respond(errorResponse(body.status()));
  if (body->id && *body->id != id) {
    return respond(textResponse(400, "Role ID in URL and payload do not match"));
  }
  auto existing = ctx.store.aclRole(id);
  if (!existing.row) return respond(textResponse(400, "Cannot find role " + id));
  v1::AclRole role = *existing.row;
  if (Status s = fillRole(ctx, *body, role); !s.isOk()) return respond(errorResponse(s));
  proposeRole(ctx, std::move(req), std::move(respond), std::move(role), false);
}

void roleRead(ApiContext& ctx, RequestPtr req, Responder respond, const std::string& key,
              bool by_name) {
  serveAcl(
      ctx, req, store::CatalogIndex::kAclRoles,
      [&ctx, key, by_name] {
        auto r = ctx.store.aclRole(key, by_name);
        if (!r.row) return notFoundAnswer(r.index);
        return QueryAnswer{r.index, jsonResponse(roleJson(*r.row, policyNames(ctx)))};
      },
      std::move(respond));
}

void roleList(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string policy = req->query.get("policy").value_or("");
  serveAcl(
      ctx, req, store::CatalogIndex::kAclRoles,
      [&ctx, policy] {
        auto list = ctx.store.aclRoles();
        std::vector<v1::AclRole> kept;
        for (auto& r : list.rows) {
          bool holds = policy.empty();
          for (const auto& l : r.policies()) holds |= l.id() == policy;
          if (holds) kept.push_back(std::move(r));
        }
        return QueryAnswer{list.index, jsonResponse(rolesJson(kept, policyNames(ctx)))};
      },
      std::move(respond));
}

void roleRoute(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (req->path.starts_with(kRoleNamePrefix)) {
    if (req->method != "GET") return respond(textResponse(405, "method not allowed"));
    std::string name = suffix(*req, kRoleNamePrefix);
    if (name.empty()) return respond(textResponse(400, "Missing role Name"));
    return roleRead(ctx, req, std::move(respond), name, true);
  }
  std::string id = suffix(*req, kRolePrefix);
  if (id.empty()) return respond(textResponse(400, "Missing role ID"));
  if (req->method == "GET") return roleRead(ctx, req, std::move(respond), id, false);
  if (req->method == "PUT") return roleUpdate(ctx, req, std::move(respond), id);
  v1::Command cmd;
  cmd.mutable_acl_role_delete()->set_id(id);
  propose(
      ctx, std::move(cmd), [respond] { respond(jsonResponse("true")); }, respond);
}

using AclHandler = void (*)(ApiContext&, RequestPtr, Responder);

void addRoute(Router& router, ApiContext& ctx, std::string_view path, bool prefix,
              std::vector<std::string> methods, AclHandler handler) {
  Route route{std::string(path), prefix, std::move(methods),
              [&ctx, handler](RequestPtr req, Responder respond) {
                // Consul answers every ACL endpoint this way while ACLs are off.
                if (ctx.acl == nullptr || !ctx.acl->enabled()) {
                  return respond(textResponse(401, "ACL support disabled"));
                }
                if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) {
                  return respond(errorResponse(s));
                }
                handler(ctx, std::move(req), std::move(respond));
              }};
  route.max_body = kMaxAclBody;
  router.add(std::move(route));
}

}  // namespace

void addAclRoutes(Router& router, ApiContext& ctx) {
  addRoute(router, ctx, "/v1/acl/bootstrap", false, {"PUT"}, bootstrap);
  addRoute(router, ctx, "/v1/acl/token", false, {"PUT"}, tokenCreate);
  addRoute(router, ctx, kTokenPrefix, true, {"GET", "PUT", "DELETE"}, tokenRoute);
  addRoute(router, ctx, "/v1/acl/tokens", false, {"GET"}, tokenList);
  addRoute(router, ctx, "/v1/acl/policy", false, {"PUT"}, policyCreate);
  addRoute(router, ctx, kPolicyPrefix, true, {"GET", "PUT", "DELETE"}, policyRoute);
  addRoute(router, ctx, "/v1/acl/policies", false, {"GET"}, policyList);
  addRoute(router, ctx, "/v1/acl/role", false, {"PUT"}, roleCreate);
  addRoute(router, ctx, kRolePrefix, true, {"GET", "PUT", "DELETE"}, roleRoute);
  addRoute(router, ctx, "/v1/acl/roles", false, {"GET"}, roleList);
}

}  // namespace cairn::http
