#pragma once
// ACL enforcement for the whole HTTP API in one place (docs/security.md). The router calls the
// guard (aclGuard) for every request to a registered route before its handler:
//
//  1. requirementFor() says what the route needs, computed from the request: permissions such as
//     key:write on the key in the path, and how its answer is filtered (lists).
//  2. The caller's token (X-Consul-Token, Authorization: Bearer, ?token=) is resolved; an unknown
//     or expired token is 403 "ACL not found".
//  3. A missing permission is 403 "Permission denied: token with AccessorID '<id>' lacks
//     permission '<resource>:<access>' on "<name>"" (Consul's shape; never the secret).
//  4. Lists and recursive reads pass through a filter that drops what the token may not read and
//     then marks the answer with X-Consul-Results-Filtered-By-ACLs: true.
//
// A route missing from the table needs a management token: a new route is closed until it is
// declared (tests/unit/http/acl_enforcer_test.cc lists every registered route).
//
// Threading: thread-safe (the table is immutable; the resolver is thread-safe).

#include <string>
#include <string_view>
#include <vector>

#include "core/acl/authorizer.h"
#include "core/http/acl_resolver.h"
#include "core/http/router.h"

namespace cairn::http {

struct Permission {
  acl::Resource resource = acl::Resource::kKey;
  std::string name;  // "" for global resources
  acl::Access access = acl::Access::kRead;
  // Write over everything under `name` (a recursive delete): Authorizer::allowedPrefixWrite.
  bool whole_prefix = false;
};

// How a list answer is filtered, by the shape of its JSON.
enum class ResultFilter {
  kNone,
  kKvEntries,      // [{"Key": ...}]            key:read
  kKvKeys,         // ["key", ...]              key:read
  kNodes,          // [{"Node": ...}]           node:read
  kServiceNames,   // {"name": [tags]}          service:read
  kServiceNodes,   // [{"Node", "ServiceName"}] node:read and service:read
  kHealthEntries,  // [{"Node": {"Node"}, "Service": {"Service"}}]
  kChecks,         // [{"Node", "ServiceName"}] node:read, and service:read when a service's
  kSessions,       // [{"Node": ...}]           session:read
  kEvents,         // [{"Name": ...}]           event:read
  kAgentServices,  // {"id": {"Service": ...}}  service:read
  kAgentChecks,    // {"id": {"ServiceName"}}   service:read, or node:read of the agent
  kMembers,        // [{"Name": ...}]           node:read
};

struct Requirement {
  std::vector<Permission> permissions;
  ResultFilter filter = ResultFilter::kNone;
  bool management = false;      // only a management token (snapshots, undeclared routes)
  bool token_optional = false;  // an unknown token is not refused (bootstrap)
};

// What `request` to the route registered as `pattern` needs. `agent_node` is this agent's node
// name (agent:* and the agent's own node:* rules); `store` looks up sessions' nodes.
Requirement requirementFor(std::string_view pattern, const HttpRequest& request,
                           std::string_view agent_node, const store::StateStore& store);

// Applies `filter` to a JSON answer; true when something was removed (then *body is rewritten).
bool filterResults(ResultFilter filter, const acl::Authorizer& authz, std::string_view agent_node,
                   std::string* body);

// The router guard enforcing `resolver`'s ACLs; install only when ACLs are enabled. Every
// argument outlives the router.
Router::Guard aclGuard(const AclResolver& resolver, const store::StateStore& store,
                       std::string agent_node);

// "Permission denied: ..." for `caller` lacking `permission` (Consul's text).
std::string permissionDenied(const AclCaller& caller, const Permission& permission);

}  // namespace cairn::http
