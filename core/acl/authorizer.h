#pragma once
// Authorizer: what one token may do, from the rules of all its policies, with Consul's semantics:
//
//  - For a resource name, the rule that applies is the exact rule for that name if there is one,
//    else the rule with the longest prefix of the name (`key_prefix ""` covers everything).
//  - When several of the token's policies have a rule for the same name (or the same prefix),
//    the strongest wins: deny > write > list > read.
//  - The rule decides: write grants write, list and read; list grants list and read; read grants
//    read; deny grants nothing. Only when no rule applies does the default policy decide.
//  - Default policy "allow" grants everything except ACL management (the `acl` resource), which
//    needs a rule or a management token, as in Consul; "deny" grants nothing.
//  - A management token (the global-management policy, or the bootstrap token) may do anything.
//
// Threading: immutable after construction; share it freely (std::shared_ptr<const Authorizer>).

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/acl/rules.h"

namespace cairn::acl {

enum class DefaultPolicy { kAllow, kDeny };

// "allow"/"deny" (Consul's `default_policy` values) or kInvalidArgument.
StatusOr<DefaultPolicy> parseDefaultPolicy(std::string_view text);
const char* defaultPolicyName(DefaultPolicy policy);

class Authorizer {
 public:
  static std::shared_ptr<const Authorizer> management();
  // Only the default policy: what the anonymous token has when it holds no policy, and what every
  // request gets while ACLs are disabled (kAllow).
  static std::shared_ptr<const Authorizer> defaultOnly(DefaultPolicy fallback);
  // The merged rules of a token's policies (its roles' policies included by the caller).
  static std::shared_ptr<const Authorizer> fromRules(const std::vector<const Rules*>& policies,
                                                     DefaultPolicy fallback);

  // Whether the rule governing `name` (or the default policy) grants `required` on it. Global
  // resources (acl, operator, keyring, mesh, peering) are asked with an empty name.
  bool allowed(Resource resource, std::string_view name, Access required) const;

  // Write over everything under `prefix` (a recursive KV delete): the longest prefix rule
  // covering `prefix` grants write and no rule for a name or prefix under it grants less. When no
  // rule covers it or lies under it, the default policy decides.
  bool allowedPrefixWrite(Resource resource, std::string_view prefix) const;

  bool isManagement() const { return management_; }

 private:
  struct Table {
    std::map<std::string, Access, std::less<>> exact;
    std::map<std::string, Access, std::less<>> prefix;
  };

  Authorizer(bool management, DefaultPolicy fallback)
      : management_(management), fallback_(fallback) {}
  void add(const Rule& rule);
  Access governing(Resource resource, std::string_view name) const;
  bool fallbackAllows(Resource resource) const;

  bool management_ = false;
  DefaultPolicy fallback_ = DefaultPolicy::kDeny;
  std::array<Table, kResourceCount> tables_;
};

}  // namespace cairn::acl
