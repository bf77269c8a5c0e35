#include "core/store/acl_apply.h"

#include <cctype>
#include <optional>
#include <string>

namespace cairn::store {
namespace {

TxnOutcome refused(std::string what) {
  return TxnOutcome{false, {}, {TxnError{0, std::move(what), {}}}};
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// Stamps `row` with `index`, keeping the create index of the row it replaces.
template <typename Row>
void stamp(Row& row, uint64_t index, const std::optional<Row>& existing) {
  row.set_create_index(existing ? existing->create_index() : index);
  row.set_modify_index(index);
}

// Creates or replaces a policy or role (`kind`): IDs must exist (or not, on create) and names
// stay unique.
template <typename Row, typename Get, typename ByName, typename Put>
TxnOutcome setNamed(Row row, bool create, uint64_t index, const std::string& kind, Get get,
                    ByName by_name, Put put) {
  std::optional<Row> existing = get(row.id());
  if (create && existing) return refused("Invalid " + kind + ": ID is already in use");
  if (!create && !existing) return refused("Cannot find " + lower(kind) + " " + row.id());
  if (auto named = by_name(row.name()); named && named->id() != row.id()) {
    return refused("Invalid " + kind + ": A " + kind + " with Name \"" + row.name() +
                   "\" already exists");
  }
  stamp(row, index, existing);
  put(row);
  return {};
}

}  // namespace

TxnOutcome applyAclBootstrap(Tables& t, uint64_t index, const v1::AclBootstrap& cmd) {
  CatalogTable& c = t.catalog;
  if (uint64_t done = c.aclBootstrapIndex(); done != 0) {
    return refused(std::string(kBootstrapRefused) + " (reset index: " + std::to_string(done) + ")");
  }
  if (!c.aclPolicy(cmd.management_policy().id())) {
    v1::AclPolicy policy = cmd.management_policy();
    stamp(policy, index, std::optional<v1::AclPolicy>());
    c.putAclPolicy(policy);
  }
  if (!c.aclToken(cmd.anonymous().accessor_id())) {
    v1::AclToken anonymous = cmd.anonymous();
    stamp(anonymous, index, std::optional<v1::AclToken>());
    c.putAclToken(anonymous);
  }
  if (c.aclTokenBySecret(cmd.token().secret_id())) return refused("SecretID is already in use");
  v1::AclToken token = cmd.token();
  stamp(token, index, std::optional<v1::AclToken>());
  c.putAclToken(token);
  c.setAclBootstrapIndex(index);
  return {};
}

TxnOutcome applyAclTokenSet(Tables& t, uint64_t index, const v1::AclTokenSet& cmd) {
  CatalogTable& c = t.catalog;
  v1::AclToken token = cmd.token();
  auto existing = c.aclToken(token.accessor_id());
  if (cmd.create() && existing) return refused("Invalid Token: AccessorID is already in use");
  if (!cmd.create() && !existing) return refused("Cannot find token to update");
  if (existing && existing->secret_id() != token.secret_id()) {
    return refused("Changing a token's SecretID is not permitted");
  }
  if (auto holder = c.aclTokenBySecret(token.secret_id());
      holder && holder->accessor_id() != token.accessor_id()) {
    return refused("Invalid Token: SecretID is already in use");
  }
  stamp(token, index, existing);
  c.putAclToken(token);
  return {};
}

TxnOutcome applyAclTokenDelete(Tables& t, uint64_t index, const v1::AclTokenDelete& cmd) {
  if (auto token = t.catalog.aclToken(cmd.accessor_id())) t.catalog.removeAclToken(*token, index);
  return {};
}

TxnOutcome applyAclPolicySet(Tables& t, uint64_t index, const v1::AclPolicySet& cmd) {
  CatalogTable& c = t.catalog;
  return setNamed(
      cmd.policy(), cmd.create(), index, "Policy", [&](const auto& id) { return c.aclPolicy(id); },
      [&](const auto& name) { return c.aclPolicyByName(name); },
      [&](const v1::AclPolicy& p) { c.putAclPolicy(p); });
}

TxnOutcome applyAclPolicyDelete(Tables& t, uint64_t index, const v1::AclPolicyDelete& cmd) {
  if (cmd.id() == kManagementPolicyId) {
    return refused("Delete operation not permitted on the global-management policy");
  }
  if (auto policy = t.catalog.aclPolicy(cmd.id())) t.catalog.removeAclPolicy(*policy, index);
  return {};
}

TxnOutcome applyAclRoleSet(Tables& t, uint64_t index, const v1::AclRoleSet& cmd) {
  CatalogTable& c = t.catalog;
  return setNamed(
      cmd.role(), cmd.create(), index, "Role", [&](const auto& id) { return c.aclRole(id); },
      [&](const auto& name) { return c.aclRoleByName(name); },
      [&](const v1::AclRole& r) { c.putAclRole(r); });
}

TxnOutcome applyAclRoleDelete(Tables& t, uint64_t index, const v1::AclRoleDelete& cmd) {
  if (auto role = t.catalog.aclRole(cmd.id())) t.catalog.removeAclRole(*role, index);
  return {};
}

}  // namespace cairn::store
