#pragma once
// Executes Consul KV transactions against a KvTable: the semantics of every /v1/txn verb and of the
// single-key PUT/DELETE writes (which are one-operation transactions).

#include <cstdint>

#include "cairn/v1/commands.pb.h"
#include "core/store/catalog_apply.h"
#include "core/store/kv_table.h"
#include "core/store/kv_types.h"

namespace cairn::store {

// Runs `txn` at log index `index` (lock verbs consult and update the sessions in t.catalog).
// All-or-nothing: when any op fails, every write of this txn is rolled back in `table` and the
// outcome lists every failing op (later ops still see the effects of earlier successful ones, as in
// Consul). Deterministic: depends only on the table and inputs.
TxnOutcome executeTxn(Tables& t, uint64_t index, const v1::Txn& txn);

// True when every op only reads (get, get-or-empty, get-tree, check-*): such a txn is served as a
// read, without going through the log.
bool isReadOnly(const v1::Txn& txn);

}  // namespace cairn::store
