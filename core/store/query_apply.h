#pragma once
// Semantics of the prepared-query commands (proto/cairn/v1/query.proto) at one log index.
// Deterministic: the ID comes in the command. The HTTP layer validated the definition
// (validatePreparedQuery); what needs the state (unique names, an existing session, one unnamed
// template) is checked here. A refused command changes nothing and fails with Consul's text.

#include <cstdint>
#include <string>

#include "cairn/v1/query.pb.h"
#include "core/store/catalog_apply.h"

namespace cairn::store {

TxnOutcome applyPreparedQuerySet(Tables& t, uint64_t index, const v1::PreparedQuerySet& cmd);
// Deleting an unknown query changes nothing and succeeds.
TxnOutcome applyPreparedQueryDelete(Tables& t, uint64_t index, const v1::PreparedQueryDelete& cmd);
// Deletes the queries bound to `session` (it is being invalidated), as Consul does.
void deleteSessionQueries(Tables& t, uint64_t index, const std::string& session);

}  // namespace cairn::store
