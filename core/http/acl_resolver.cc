#include "core/http/acl_resolver.h"

#include <vector>

#include "core/acl/secrets.h"
#include "core/store/acl_apply.h"

namespace cairn::http {
namespace {

constexpr size_t kMaxCachedPolicies = 4096;

Status aclNotFound() { return notFound("ACL not found"); }

bool holdsManagement(const store::AclIdentity& identity) {
  if (identity.token.management()) return true;
  for (const v1::AclPolicy& p : identity.policies) {
    if (p.id() == store::kManagementPolicyId) return true;
  }
  return false;
}

}  // namespace

AclResolver::AclResolver(const store::StateStore& store, AclSettings settings, WallClock now)
    : store_(store), settings_(std::move(settings)), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::system_clock::now(); };
}

std::shared_ptr<const acl::Rules> AclResolver::rulesOf(const v1::AclPolicy& policy) const {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(policy.id());
    if (it != cache_.end() && it->second.first == policy.modify_index()) return it->second.second;
  }
  // Rules were validated before they were proposed; a policy that no longer parses (written by a
  // newer version, say) grants nothing rather than failing every request of its tokens.
  auto parsed = acl::parseRules(policy.rules(), "policy " + policy.name());
  auto rules =
      std::make_shared<const acl::Rules>(parsed.isOk() ? std::move(*parsed) : acl::Rules{});
  std::lock_guard lock(mu_);
  if (cache_.size() >= kMaxCachedPolicies) cache_.clear();
  cache_[policy.id()] = {policy.modify_index(), rules};
  return rules;
}

std::string AclResolver::effectiveSecret(std::string_view secret) const {
  return secret.empty() ? settings_.default_token : std::string(secret);
}

StatusOr<AclCaller> AclResolver::resolve(std::string_view secret) const {
  if (!settings_.enabled) return AclCaller{acl::Authorizer::management(), "", false};
  std::string token = effectiveSecret(secret);
  if (!settings_.initial_management.empty() &&
      acl::constantTimeEquals(token, settings_.initial_management)) {
    return AclCaller{acl::Authorizer::management(), std::string(kInitialManagementAccessorId),
                     false};
  }
  bool anonymous = token.empty() || token == store::kAnonymousSecretId;
  if (anonymous) token = std::string(store::kAnonymousSecretId);
  auto identity = store_.aclIdentity(token);
  if (!identity) {
    // Before bootstrap the anonymous token does not exist yet: it holds no policy.
    if (anonymous) {
      return AclCaller{acl::Authorizer::defaultOnly(settings_.default_policy),
                       std::string(store::kAnonymousAccessorId), true};
    }
    return aclNotFound();
  }
  int64_t expires = identity->token.expiration_time_unix_ns();
  if (expires != 0 &&
      std::chrono::duration_cast<std::chrono::nanoseconds>(now_().time_since_epoch()).count() >=
          expires) {
    return aclNotFound();
  }
  AclCaller caller{nullptr, identity->token.accessor_id(), anonymous};
  if (holdsManagement(*identity)) {
    caller.authz = acl::Authorizer::management();
    return caller;
  }
  std::vector<std::shared_ptr<const acl::Rules>> held;
  std::vector<const acl::Rules*> rules;
  for (const v1::AclPolicy& policy : identity->policies) {
    held.push_back(rulesOf(policy));
    rules.push_back(held.back().get());
  }
  caller.authz = acl::Authorizer::fromRules(rules, settings_.default_policy);
  return caller;
}

std::shared_ptr<const acl::Authorizer> AclResolver::dnsAuthorizer() const {
  auto caller = resolve("");  // tokens.default, else anonymous
  if (!caller.isOk()) return acl::Authorizer::defaultOnly(acl::DefaultPolicy::kDeny);
  return caller->authz;
}

std::string AclResolver::fingerprint(std::string_view secret) const {
  if (!settings_.enabled) return "";
  std::string token = effectiveSecret(secret);
  if (!settings_.initial_management.empty() &&
      acl::constantTimeEquals(token, settings_.initial_management)) {
    return "management";
  }
  if (token.empty()) token = std::string(store::kAnonymousSecretId);
  auto identity = store_.aclIdentity(token);
  if (!identity) return "none";
  // Accessor IDs and policy/role IDs only: the fingerprint must not carry the secret.
  std::string out =
      identity->token.accessor_id() + "@" + std::to_string(identity->token.modify_index());
  for (const v1::AclPolicy& p : identity->policies) {
    out += ",p" + p.id() + "@" + std::to_string(p.modify_index());
  }
  for (const v1::AclRole& r : identity->roles) {
    out += ",r" + r.id() + "@" + std::to_string(r.modify_index());
  }
  return out;
}

std::string requestToken(const HttpRequest& request) {
  if (auto it = request.headers.find("x-consul-token"); it != request.headers.end()) {
    if (!it->second.empty()) return it->second;
  }
  if (auto it = request.headers.find("authorization"); it != request.headers.end()) {
    std::string_view value = it->second;
    constexpr std::string_view kBearer = "Bearer ";
    if (value.size() > kBearer.size() && value.substr(0, kBearer.size()) == kBearer) {
      return std::string(value.substr(kBearer.size()));
    }
  }
  return request.query.get("token").value_or("");
}

}  // namespace cairn::http
