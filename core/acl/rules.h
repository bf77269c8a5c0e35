#pragma once
// Consul ACL rules: the text of a policy (HCL or JSON, read with core/hcl) decoded into a list of
// rules. What the rules mean when a token holds several policies is core/acl/authorizer.h.
//
//   key_prefix "" { policy = "read" }         named resources: <resource> "<name>" { policy }
//   key "app/config" { policy = "write" }     and <resource>_prefix "<prefix>" { policy }
//   service "web" { policy = "write" intentions = "read" }
//   operator = "read"                         global resources: <resource> = "<policy>"
//
// Named resources: key, service, node, session, event, agent, query (each with a _prefix form).
// Global resources: acl, operator, keyring, mesh, peering. Policies: "read", "write", "deny", and
// "list" for key rules only. An unknown resource or field is an error rather than ignored, so a
// misspelt rule cannot silently grant or withhold access.
//
// Threading: pure functions.

#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace cairn::acl {

enum class Resource {
  kAcl,
  kAgent,
  kEvent,
  kKey,
  kKeyring,
  kMesh,
  kNode,
  kOperator,
  kPeering,
  kQuery,
  kService,
  kSession,
};
inline constexpr int kResourceCount = 12;

// "acl", "agent", ... as Consul names them in rules and in permission-denied messages.
const char* resourceName(Resource resource);

// What a rule grants, or what an operation needs. kNone (no rule) defers to the default policy.
// A rule of write grants list and read; list grants read; read grants only read; deny grants
// nothing and stops the fallback to the default policy.
enum class Access { kNone, kDeny, kRead, kList, kWrite };

const char* accessName(Access access);  // "read", "list", "write", "deny", "none"

struct Rule {
  Resource resource = Resource::kKey;
  // The name (exact) or prefix the rule covers. Global resources have one rule with prefix "".
  std::string segment;
  bool prefix = false;
  Access access = Access::kNone;
};

struct Rules {
  std::vector<Rule> rules;  // in the order written
};

// Parses a policy's rules. `name` starts error messages ("rules:3:14: expected ..."). An empty
// text is an empty rule set.
StatusOr<Rules> parseRules(std::string_view text, std::string_view name = "rules");

}  // namespace cairn::acl
