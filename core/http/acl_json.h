#pragma once
// JSON of Consul's ACL API (/v1/acl/*): request bodies of tokens, policies and roles decoded into
// what the handlers propose, and the stored rows written in Consul's response shapes. Decoders
// validate everything a client controls (names, rules, durations, times) and fail with the 400
// text Consul would give; they never throw.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/acl.pb.h"
#include "core/base/status.h"

namespace cairn::http {

// {"ID": ..., "Name": ...}: a policy or role named by ID or by name.
struct AclLinkRequest {
  std::string id;
  std::string name;
};

struct TokenRequest {
  std::optional<std::string> accessor_id;
  std::optional<std::string> secret_id;
  std::string description;
  std::vector<AclLinkRequest> policies;
  std::vector<AclLinkRequest> roles;
  bool local = false;
  int64_t expiration_time_unix_ns = 0;  // 0: none given
  int64_t expiration_ttl_ns = 0;
};

struct PolicyRequest {
  std::optional<std::string> id;
  std::string name;
  std::string description;
  std::string rules;
  std::vector<std::string> datacenters;
};

struct RoleRequest {
  std::optional<std::string> id;
  std::string name;
  std::string description;
  std::vector<AclLinkRequest> policies;
};

// Bodies larger than this are refused while reading (413).
inline constexpr size_t kMaxAclBody = 1 << 20;

StatusOr<TokenRequest> decodeTokenRequest(std::string_view body);
// Validates the name and parses the rules (their errors say line and column).
StatusOr<PolicyRequest> decodePolicyRequest(std::string_view body);
StatusOr<RoleRequest> decodeRoleRequest(std::string_view body);

// Consul's name rule for policies and roles: 1-128 (roles 256) of [A-Za-z0-9_-].
bool validAclName(std::string_view name, size_t max_length);

// RFC 3339 (as Go marshals time.Time: UTC, nanoseconds with trailing zeros trimmed).
std::string formatRfc3339(int64_t unix_ns);
// Parses RFC 3339 with an optional fraction and a Z or ±hh:mm offset.
StatusOr<int64_t> parseRfc3339(std::string_view text);

// The current name of a linked policy or role, or nullopt when it no longer exists (the link is
// then left out, as Consul does).
using LinkName = std::function<std::optional<std::string>(const std::string& id)>;

// `secret`: include the SecretID (else "<hidden>", as Consul shows it to callers without
// acl:write). `stub`: the list form.
std::string tokenJson(const v1::AclToken& token, const LinkName& policy_name,
                      const LinkName& role_name, bool secret);
std::string tokensJson(const std::vector<v1::AclToken>& tokens, const LinkName& policy_name,
                       const LinkName& role_name, bool secret);
// `stub`: the list form (no Rules).
std::string policyJson(const v1::AclPolicy& policy, bool stub = false);
std::string policiesJson(const std::vector<v1::AclPolicy>& policies);
std::string roleJson(const v1::AclRole& role, const LinkName& policy_name);
std::string rolesJson(const std::vector<v1::AclRole>& roles, const LinkName& policy_name);

// The Hash field: SHA-256 over the fields that define what the row grants.
std::string tokenHash(const v1::AclToken& token);
std::string policyHash(const v1::AclPolicy& policy);
std::string roleHash(const v1::AclRole& role);

}  // namespace cairn::http
