// StateStore's ACL reads. Each is one consistent snapshot; list and single reads report the
// table's index (blocking queries on /v1/acl/* wait on it).
#include <set>

#include "core/store/state_snapshot.h"
#include "core/store/state_store.h"

namespace cairn::store {

AclRead<v1::AclToken> StateStore::aclToken(std::string_view accessor_id) const {
  Snapshot snap(db_, may_have_floor_.load());
  return {snap.catalog().aclToken(accessor_id),
          snap.report(snap.catalog().tableIndex(CatalogIndex::kAclTokens))};
}

AclList<v1::AclToken> StateStore::aclTokens() const {
  Snapshot snap(db_, may_have_floor_.load());
  AclList<v1::AclToken> out;
  snap.catalog().scanAclTokens([&](const v1::AclToken& t) { out.rows.push_back(t); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kAclTokens));
  return out;
}

AclRead<v1::AclPolicy> StateStore::aclPolicy(std::string_view id, bool by_name) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& c = snap.catalog();
  return {by_name ? c.aclPolicyByName(id) : c.aclPolicy(id),
          snap.report(c.tableIndex(CatalogIndex::kAclPolicies))};
}

AclList<v1::AclPolicy> StateStore::aclPolicies() const {
  Snapshot snap(db_, may_have_floor_.load());
  AclList<v1::AclPolicy> out;
  snap.catalog().scanAclPolicies([&](const v1::AclPolicy& p) { out.rows.push_back(p); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kAclPolicies));
  return out;
}

AclRead<v1::AclRole> StateStore::aclRole(std::string_view id, bool by_name) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& c = snap.catalog();
  return {by_name ? c.aclRoleByName(id) : c.aclRole(id),
          snap.report(c.tableIndex(CatalogIndex::kAclRoles))};
}

AclList<v1::AclRole> StateStore::aclRoles() const {
  Snapshot snap(db_, may_have_floor_.load());
  AclList<v1::AclRole> out;
  snap.catalog().scanAclRoles([&](const v1::AclRole& r) { out.rows.push_back(r); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kAclRoles));
  return out;
}

std::optional<AclIdentity> StateStore::aclIdentity(std::string_view secret_id) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& c = snap.catalog();
  auto token = c.aclTokenBySecret(secret_id);
  if (!token) return std::nullopt;
  AclIdentity out{std::move(*token), {}, {}};
  std::set<std::string> seen;
  auto addPolicy = [&](const v1::AclLink& link) {
    if (!seen.insert(link.id()).second) return;
    if (auto policy = c.aclPolicy(link.id())) out.policies.push_back(std::move(*policy));
  };
  for (const v1::AclLink& link : out.token.policies()) addPolicy(link);
  for (const v1::AclLink& link : out.token.roles()) {
    auto role = c.aclRole(link.id());
    if (!role) continue;
    for (const v1::AclLink& p : role->policies()) addPolicy(p);
    out.roles.push_back(std::move(*role));
  }
  return out;
}

uint64_t StateStore::aclBootstrapIndex() const {
  Snapshot snap(db_, may_have_floor_.load());
  return snap.catalog().aclBootstrapIndex();
}

}  // namespace cairn::store
