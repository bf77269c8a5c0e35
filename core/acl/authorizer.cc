#include "core/acl/authorizer.h"

namespace cairn::acl {

StatusOr<DefaultPolicy> parseDefaultPolicy(std::string_view text) {
  if (text == "allow") return DefaultPolicy::kAllow;
  if (text == "deny") return DefaultPolicy::kDeny;
  return invalidArgument("expected \"allow\" or \"deny\", found \"" + std::string(text) + "\"");
}

const char* defaultPolicyName(DefaultPolicy policy) {
  return policy == DefaultPolicy::kAllow ? "allow" : "deny";
}

namespace {

// deny > write > list > read > none: the rule that wins among a token's policies.
int precedence(Access access) {
  switch (access) {
    case Access::kDeny:
      return 4;
    case Access::kWrite:
      return 3;
    case Access::kList:
      return 2;
    case Access::kRead:
      return 1;
    case Access::kNone:
      return 0;
  }
  return 0;
}

bool grants(Access rule, Access required) {
  switch (rule) {
    case Access::kWrite:
      return true;
    case Access::kList:
      return required == Access::kList || required == Access::kRead;
    case Access::kRead:
      return required == Access::kRead;
    case Access::kDeny:
    case Access::kNone:
      return false;
  }
  return false;
}

void merge(std::map<std::string, Access, std::less<>>& table, const std::string& segment,
           Access access) {
  auto [it, inserted] = table.emplace(segment, access);
  if (!inserted && precedence(access) > precedence(it->second)) it->second = access;
}

}  // namespace

std::shared_ptr<const Authorizer> Authorizer::management() {
  static const std::shared_ptr<const Authorizer> all(new Authorizer(true, DefaultPolicy::kAllow));
  return all;
}

std::shared_ptr<const Authorizer> Authorizer::defaultOnly(DefaultPolicy fallback) {
  return std::shared_ptr<const Authorizer>(new Authorizer(false, fallback));
}

std::shared_ptr<const Authorizer> Authorizer::fromRules(const std::vector<const Rules*>& policies,
                                                        DefaultPolicy fallback) {
  std::shared_ptr<Authorizer> out(new Authorizer(false, fallback));
  for (const Rules* rules : policies) {
    for (const Rule& rule : rules->rules) out->add(rule);
  }
  return out;
}

void Authorizer::add(const Rule& rule) {
  if (rule.access == Access::kNone) return;
  Table& table = tables_[static_cast<size_t>(rule.resource)];
  merge(rule.prefix ? table.prefix : table.exact, rule.segment, rule.access);
}

Access Authorizer::governing(Resource resource, std::string_view name) const {
  const Table& table = tables_[static_cast<size_t>(resource)];
  if (auto it = table.exact.find(name); it != table.exact.end()) return it->second;
  if (table.prefix.empty()) return Access::kNone;
  for (size_t len = name.size() + 1; len-- > 0;) {
    if (auto it = table.prefix.find(name.substr(0, len)); it != table.prefix.end()) {
      return it->second;
    }
  }
  return Access::kNone;
}

bool Authorizer::fallbackAllows(Resource resource) const {
  if (management_) return true;
  return fallback_ == DefaultPolicy::kAllow && resource != Resource::kAcl;
}

bool Authorizer::allowed(Resource resource, std::string_view name, Access required) const {
  if (management_) return true;
  Access rule = governing(resource, name);
  if (rule == Access::kNone) return fallbackAllows(resource);
  return grants(rule, required);
}

bool Authorizer::allowedPrefixWrite(Resource resource, std::string_view prefix) const {
  if (management_) return true;
  const Table& table = tables_[static_cast<size_t>(resource)];
  auto underPrefixGrantsLess = [&](const std::map<std::string, Access, std::less<>>& rules) {
    for (auto it = rules.lower_bound(prefix);
         it != rules.end() && std::string_view(it->first).substr(0, prefix.size()) == prefix;
         ++it) {
      if (it->second != Access::kWrite) return true;
    }
    return false;
  };
  if (underPrefixGrantsLess(table.exact) || underPrefixGrantsLess(table.prefix)) return false;
  for (size_t len = prefix.size() + 1; len-- > 0;) {
    if (auto it = table.prefix.find(prefix.substr(0, len)); it != table.prefix.end()) {
      return it->second == Access::kWrite;
    }
  }
  return fallbackAllows(resource);
}

}  // namespace cairn::acl
