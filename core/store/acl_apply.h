#pragma once
// Semantics of the ACL commands (proto/cairn/v1/acl.proto) applied to the catalog family's ACL
// rows at one log index. Deterministic: IDs, secrets, hashes and times come in the command. A
// refused command changes nothing and fails with the text the HTTP layer answers with.

#include <cstdint>
#include <string_view>

#include "cairn/v1/acl.pb.h"
#include "core/store/catalog_apply.h"

namespace cairn::store {

// Consul's built-in IDs.
inline constexpr std::string_view kManagementPolicyId = "00000000-0000-0000-0000-000000000001";
inline constexpr std::string_view kManagementPolicyName = "global-management";
inline constexpr std::string_view kAnonymousAccessorId = "00000000-0000-0000-0000-000000000002";
inline constexpr std::string_view kAnonymousSecretId = "anonymous";

// Outcome error texts starting with this prefix mean "refused: 403" to the HTTP layer.
inline constexpr std::string_view kBootstrapRefused = "ACL bootstrap no longer allowed";

TxnOutcome applyAclBootstrap(Tables& t, uint64_t index, const v1::AclBootstrap& cmd);
TxnOutcome applyAclTokenSet(Tables& t, uint64_t index, const v1::AclTokenSet& cmd);
TxnOutcome applyAclTokenDelete(Tables& t, uint64_t index, const v1::AclTokenDelete& cmd);
TxnOutcome applyAclPolicySet(Tables& t, uint64_t index, const v1::AclPolicySet& cmd);
TxnOutcome applyAclPolicyDelete(Tables& t, uint64_t index, const v1::AclPolicyDelete& cmd);
TxnOutcome applyAclRoleSet(Tables& t, uint64_t index, const v1::AclRoleSet& cmd);
TxnOutcome applyAclRoleDelete(Tables& t, uint64_t index, const v1::AclRoleDelete& cmd);

}  // namespace cairn::store
