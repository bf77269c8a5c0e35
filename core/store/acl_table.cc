// CatalogTable's ACL rows: tokens (by accessor, indexed by secret), policies and roles (by ID,
// indexed by name). See the row list in catalog_table.h.
#include "core/base/check.h"
#include "core/store/catalog_table.h"

namespace cairn::store {
namespace {

template <typename Message>
Message decodeRow(std::string_view bytes) {
  Message m;
  CHECK_MSG(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
            "corrupt ACL row in the state store");
  return m;
}

std::string row(char kind, std::string_view id) {
  return std::string(1, kind) + "/" + std::string(id);
}

}  // namespace

std::optional<v1::AclToken> CatalogTable::aclToken(std::string_view accessor_id) {
  auto bytes = getRow(row('a', accessor_id));
  if (!bytes) return std::nullopt;
  return decodeRow<v1::AclToken>(*bytes);
}

std::optional<v1::AclToken> CatalogTable::aclTokenBySecret(std::string_view secret_id) {
  auto accessor = getRow(row('A', secret_id));
  if (!accessor) return std::nullopt;
  return aclToken(*accessor);
}

void CatalogTable::scanAclTokens(const std::function<void(const v1::AclToken&)>& visit) {
  scanRows("a/", [&](std::string_view, std::string_view v) { visit(decodeRow<v1::AclToken>(v)); });
}

void CatalogTable::putAclToken(const v1::AclToken& token) {
  if (auto old = aclToken(token.accessor_id()); old && old->secret_id() != token.secret_id()) {
    deleteRow(row('A', old->secret_id()));
  }
  putRow(row('a', token.accessor_id()), token.SerializeAsString());
  putRow(row('A', token.secret_id()), token.accessor_id());
  bumpTable(CatalogIndex::kAclTokens, token.modify_index());
}

void CatalogTable::removeAclToken(const v1::AclToken& token, uint64_t index) {
  deleteRow(row('a', token.accessor_id()));
  deleteRow(row('A', token.secret_id()));
  bumpTable(CatalogIndex::kAclTokens, index);
}

std::optional<v1::AclPolicy> CatalogTable::aclPolicy(std::string_view id) {
  auto bytes = getRow(row('p', id));
  if (!bytes) return std::nullopt;
  return decodeRow<v1::AclPolicy>(*bytes);
}

std::optional<v1::AclPolicy> CatalogTable::aclPolicyByName(std::string_view name) {
  auto id = getRow(row('P', name));
  if (!id) return std::nullopt;
  return aclPolicy(*id);
}

void CatalogTable::scanAclPolicies(const std::function<void(const v1::AclPolicy&)>& visit) {
  scanRows("p/", [&](std::string_view, std::string_view v) { visit(decodeRow<v1::AclPolicy>(v)); });
}

void CatalogTable::putAclPolicy(const v1::AclPolicy& policy) {
  if (auto old = aclPolicy(policy.id()); old && old->name() != policy.name()) {
    deleteRow(row('P', old->name()));
  }
  putRow(row('p', policy.id()), policy.SerializeAsString());
  putRow(row('P', policy.name()), policy.id());
  bumpTable(CatalogIndex::kAclPolicies, policy.modify_index());
}

void CatalogTable::removeAclPolicy(const v1::AclPolicy& policy, uint64_t index) {
  deleteRow(row('p', policy.id()));
  deleteRow(row('P', policy.name()));
  bumpTable(CatalogIndex::kAclPolicies, index);
}

std::optional<v1::AclRole> CatalogTable::aclRole(std::string_view id) {
  auto bytes = getRow(row('r', id));
  if (!bytes) return std::nullopt;
  return decodeRow<v1::AclRole>(*bytes);
}

std::optional<v1::AclRole> CatalogTable::aclRoleByName(std::string_view name) {
  auto id = getRow(row('R', name));
  if (!id) return std::nullopt;
  return aclRole(*id);
}

void CatalogTable::scanAclRoles(const std::function<void(const v1::AclRole&)>& visit) {
  scanRows("r/", [&](std::string_view, std::string_view v) { visit(decodeRow<v1::AclRole>(v)); });
}

void CatalogTable::putAclRole(const v1::AclRole& role) {
  if (auto old = aclRole(role.id()); old && old->name() != role.name()) {
    deleteRow(row('R', old->name()));
  }
  putRow(row('r', role.id()), role.SerializeAsString());
  putRow(row('R', role.name()), role.id());
  bumpTable(CatalogIndex::kAclRoles, role.modify_index());
}

void CatalogTable::removeAclRole(const v1::AclRole& role, uint64_t index) {
  deleteRow(row('r', role.id()));
  deleteRow(row('R', role.name()));
  bumpTable(CatalogIndex::kAclRoles, index);
}

}  // namespace cairn::store
