#pragma once
// AclResolver: turns the token a request carries into what it may do (docs/security.md).
//
//  - ACLs disabled: every request may do everything (nothing is looked up).
//  - No token: the agent's `tokens.default` if configured, else the anonymous token.
//  - `tokens.initial_management` from the configuration: management (compared in constant time).
//  - Any other secret: the replicated token holding it (StateStore::aclIdentity), with the
//    policies it holds directly and through its roles; unknown or expired: "ACL not found".
//
// Parsed rules are cached per policy ID and ModifyIndex, so a request parses no HCL once its
// policies have been seen. Secrets never appear in errors or logs.
//
// Threading: thread-safe; resolve() reads a store snapshot and takes a short lock on the cache.

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "core/acl/authorizer.h"
#include "core/base/status.h"
#include "core/http/http_types.h"
#include "core/store/state_store.h"

namespace cairn::http {

// The agent configuration's `acl` block.
struct AclSettings {
  bool enabled = false;
  acl::DefaultPolicy default_policy = acl::DefaultPolicy::kAllow;
  std::string down_policy = "extend-cache";  // accepted and reported; no remote ACL source yet
  bool enable_token_persistence = false;
  std::string initial_management;  // tokens.initial_management (a secret)
  std::string agent_token;         // tokens.agent
  std::string default_token;       // tokens.default
};

// The AccessorID Cairn reports for the configured initial management token (it is not stored).
inline constexpr std::string_view kInitialManagementAccessorId =
    "00000000-0000-0000-0000-0000000000ff";

struct AclCaller {
  std::shared_ptr<const acl::Authorizer> authz;
  std::string accessor_id;  // "" while ACLs are disabled
  bool anonymous = false;
};

class AclResolver {
 public:
  using WallClock = std::function<std::chrono::system_clock::time_point()>;

  // `store` outlives the resolver. `now` (token expiry) defaults to the system clock.
  AclResolver(const store::StateStore& store, AclSettings settings, WallClock now = {});

  const AclSettings& settings() const { return settings_; }
  bool enabled() const { return settings_.enabled; }

  // kPermissionDenied-style failures are returned as kNotFound with "ACL not found" (the HTTP
  // layer answers 403 with it, as Consul does).
  StatusOr<AclCaller> resolve(std::string_view secret) const;

  // What DNS answers may show (core/dns/dns_acl.h): as Consul without `tokens.dns`, the
  // `tokens.default` token, else the anonymous token. A configured token that does not resolve
  // (deleted, expired) may read nothing. Everything while ACLs are disabled.
  std::shared_ptr<const acl::Authorizer> dnsAuthorizer() const;

  // Changes whenever what `secret` may do can have changed: its token's or one of its policies'
  // ModifyIndex, its set of policies, or whether it resolves at all. A blocking query compares it
  // before and after a change to the ACL tables (read_query.cc). "" while ACLs are disabled.
  std::string fingerprint(std::string_view secret) const;

 private:
  std::shared_ptr<const acl::Rules> rulesOf(const v1::AclPolicy& policy) const;
  // The token `secret` stands for once the default and anonymous fallbacks are applied.
  std::string effectiveSecret(std::string_view secret) const;

  const store::StateStore& store_;
  AclSettings settings_;
  WallClock now_;
  mutable std::mutex mu_;
  // policy ID -> (ModifyIndex, parsed rules)
  mutable std::map<std::string, std::pair<uint64_t, std::shared_ptr<const acl::Rules>>> cache_;
};

// The secret a request carries: X-Consul-Token, else `Authorization: Bearer <secret>`, else
// ?token=. Empty when none.
std::string requestToken(const HttpRequest& request);

}  // namespace cairn::http
