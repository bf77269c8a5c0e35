#include "core/store/kv_txn.h"

#include <cstdio>
#include <optional>

#include "core/base/go_encoding.h"

namespace cairn::store {
namespace {

using v1::KvOp;

// The result of one op: an error text, or zero or more result entries.
struct OpResult {
  std::optional<std::string> error;
  std::vector<KvEntry> results;
  std::string unknown_session;
};

OpResult fail(std::string what) { return OpResult{std::move(what), {}, {}}; }

OpResult resultOf(KvEntry entry, bool keep_value) {
  if (!keep_value) entry.value.clear();
  return OpResult{std::nullopt, {std::move(entry)}, {}};
}

// Writes op's value and flags to op.key at `index`, keeping CreateIndex, LockIndex and (unless
// `session` is given) the session of an existing entry. An identical write keeps ModifyIndex.
KvEntry setEntry(KvTable& table, uint64_t index, const KvOp& op,
                 const std::optional<std::string>& session = std::nullopt) {
  std::optional<KvEntry> existing = table.get(op.key());
  KvEntry entry;
  entry.key = op.key();
  entry.value = op.value();
  entry.flags = op.flags();
  entry.create_index = existing ? existing->create_index : index;
  entry.lock_index = existing ? existing->lock_index : 0;
  entry.session = session ? *session : (existing ? existing->session : "");
  entry.modify_index = index;
  if (existing && existing->value == entry.value && existing->flags == entry.flags &&
      existing->session == entry.session) {
    return *existing;
  }
  table.put(entry);
  return entry;
}

OpResult doCas(KvTable& table, uint64_t index, const KvOp& op) {
  std::optional<KvEntry> existing = table.get(op.key());
  bool matches = op.index() == 0 ? !existing : existing && existing->modify_index == op.index();
  if (!matches) return fail("failed to set key " + goQuote(op.key()) + ", index is stale");
  return resultOf(setEntry(table, index, op), false);
}

// Consul's kvsLockTxn: the session must exist; a key held by another session stays theirs.
OpResult doLock(Tables& t, uint64_t index, const KvOp& op) {
  if (op.session().empty()) return fail("missing session");
  if (!t.catalog.session(op.session())) {
    OpResult r = fail("failed to lock key " + goQuote(op.key()) + ": invalid session " +
                      goQuote(op.session()));
    r.unknown_session = op.session();
    return r;
  }
  std::optional<KvEntry> existing = t.kv.get(op.key());
  if (existing && !existing->session.empty() && existing->session != op.session()) {
    return fail("failed to lock key " + goQuote(op.key()) + ", lock is already held");
  }
  KvEntry entry;
  entry.key = op.key();
  entry.value = op.value();
  entry.flags = op.flags();
  entry.session = op.session();
  entry.create_index = existing ? existing->create_index : index;
  entry.lock_index = !existing                           ? 1
                     : existing->session == op.session() ? existing->lock_index
                                                         : existing->lock_index + 1;
  entry.modify_index = index;
  t.kv.put(entry);
  t.catalog.setHeld(op.session(), op.key(), true);
  return resultOf(entry, false);
}

OpResult doUnlock(Tables& t, uint64_t index, const KvOp& op) {
  std::optional<KvEntry> existing = t.kv.get(op.key());
  if (!existing || existing->session != op.session() || op.session().empty()) {
    return fail("failed to unlock key " + goQuote(op.key()) +
                ", lock isn't held, or is held by another session");
  }
  t.catalog.setHeld(op.session(), op.key(), false);
  return resultOf(setEntry(t.kv, index, op, std::string()), false);
}

// Deletes `key`, dropping it from the held keys of the session that locks it.
void removeKey(Tables& t, const KvEntry& existing, uint64_t index) {
  if (!existing.session.empty()) t.catalog.setHeld(existing.session, existing.key, false);
  t.kv.remove(existing.key, index);
}

OpResult doGet(KvTable& table, const KvOp& op, bool or_empty) {
  std::optional<KvEntry> existing = table.get(op.key());
  if (existing) return resultOf(*existing, true);
  if (!or_empty) return fail("key " + goQuote(op.key()) + " doesn't exist");
  KvEntry empty;
  empty.key = op.key();
  return resultOf(empty, false);
}

OpResult doGetTree(KvTable& table, const KvOp& op) {
  OpResult out;
  table.scan(op.key(), [&](const KvEntry& e) {
    out.results.push_back(e);
    return true;
  });
  return out;
}

OpResult doCheckIndex(KvTable& table, const KvOp& op) {
  std::optional<KvEntry> existing = table.get(op.key());
  if (!existing) return fail("key " + goQuote(op.key()) + " doesn't exist");
  if (existing->modify_index != op.index()) {
    return fail("current modify index " + std::to_string(existing->modify_index) +
                " != " + std::to_string(op.index()));
  }
  return resultOf(*existing, false);
}

OpResult doCheckSession(KvTable& table, const KvOp& op) {
  std::optional<KvEntry> existing = table.get(op.key());
  if (!existing)
    return fail("failed to check session: key " + goQuote(op.key()) + " doesn't exist");
  if (existing->session != op.session()) {
    return fail("failed session check for key " + goQuote(op.key()) + ", current session " +
                goQuote(existing->session) + " != " + goQuote(op.session()));
  }
  return resultOf(*existing, false);
}

OpResult doCheckNotExists(KvTable& table, const KvOp& op) {
  if (table.get(op.key())) return fail("key " + goQuote(op.key()) + " exists");
  return {};
}

OpResult doDelete(Tables& t, uint64_t index, const KvOp& op) {
  if (auto existing = t.kv.get(op.key())) removeKey(t, *existing, index);
  return {};
}

OpResult doDeleteTree(Tables& t, uint64_t index, const KvOp& op) {
  std::vector<KvEntry> entries;
  t.kv.scan(op.key(), [&](const KvEntry& e) {
    entries.push_back(e);
    return true;
  });
  for (const auto& e : entries) removeKey(t, e, index);
  return {};
}

OpResult doDeleteCas(Tables& t, uint64_t index, const KvOp& op) {
  std::optional<KvEntry> existing = t.kv.get(op.key());
  if (!existing) return {};
  if (existing->modify_index != op.index()) {
    return fail("failed to delete key " + goQuote(op.key()) + ", index is stale");
  }
  removeKey(t, *existing, index);
  return {};
}

OpResult executeKvOp(Tables& t, uint64_t index, const KvOp& op) {
  KvTable& table = t.kv;
  switch (op.verb()) {
    case v1::KV_SET:
      return resultOf(setEntry(table, index, op), false);
    case v1::KV_CAS:
      return doCas(table, index, op);
    case v1::KV_LOCK:
      return doLock(t, index, op);
    case v1::KV_UNLOCK:
      return doUnlock(t, index, op);
    case v1::KV_GET:
      return doGet(table, op, false);
    case v1::KV_GET_OR_EMPTY:
      return doGet(table, op, true);
    case v1::KV_GET_TREE:
      return doGetTree(table, op);
    case v1::KV_CHECK_INDEX:
      return doCheckIndex(table, op);
    case v1::KV_CHECK_SESSION:
      return doCheckSession(table, op);
    case v1::KV_CHECK_NOT_EXISTS:
      return doCheckNotExists(table, op);
    case v1::KV_DELETE:
      return doDelete(t, index, op);
    case v1::KV_DELETE_TREE:
      return doDeleteTree(t, index, op);
    case v1::KV_DELETE_CAS:
      return doDeleteCas(t, index, op);
    default:
      return fail("unknown KV verb " + std::to_string(static_cast<int>(op.verb())));
  }
}

}  // namespace

TxnOutcome executeTxn(Tables& t, uint64_t index, const v1::Txn& txn) {
  KvTable& table = t.kv;
  TxnOutcome outcome;
  table.savepoint();
  for (int i = 0; i < txn.ops_size(); ++i) {
    OpResult r = executeKvOp(t, index, txn.ops(i).kv());
    if (r.error) {
      outcome.errors.push_back({i, std::move(*r.error), std::move(r.unknown_session)});
    } else {
      for (auto& e : r.results) outcome.results.push_back(std::move(e));
    }
  }
  if (outcome.errors.empty()) {
    table.release();
  } else {
    table.rollback();
    outcome.ok = false;
    outcome.results.clear();
  }
  return outcome;
}

bool isReadVerb(v1::KvVerb verb) {
  switch (verb) {
    case v1::KV_GET:
    case v1::KV_GET_OR_EMPTY:
    case v1::KV_GET_TREE:
    case v1::KV_CHECK_INDEX:
    case v1::KV_CHECK_SESSION:
    case v1::KV_CHECK_NOT_EXISTS:
      return true;
    default:
      return false;
  }
}

bool isReadOnly(const v1::Txn& txn) {
  for (const auto& op : txn.ops()) {
    if (!isReadVerb(op.kv().verb())) return false;
  }
  return true;
}

}  // namespace cairn::store
