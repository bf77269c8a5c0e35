#pragma once
// StateStore: Cairn's replicated state machine. Every change arrives as a committed log entry and
// goes through apply(); nothing else writes state. Reads are served from consistent RocksDB
// snapshots on any thread.

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "cairn/v1/commands.pb.h"
#include "core/storage/rocks_db.h"
#include "core/store/kv_types.h"
#include "core/store/watch_hub.h"

namespace cairn::store {

// A committed command at its log index. The command outlives the apply() call.
struct LogEntry {
  uint64_t index;
  const v1::Command* command;
};

class StateStore {
 public:
  // Resumes from the applied index recorded in `db`. Both arguments outlive the store.
  StateStore(storage::RocksDb& db, WatchHub& watches);

  // Applies `entries` in order, in ONE RocksDB WriteBatch that also records the last index as the
  // applied index, then wakes the watchers of the touched keys. Contract: called from a single
  // thread; indexes strictly increase and exceed appliedIndex(). `sync` makes the batch durable
  // before returning (needed when there is no separate durable log). A failed write is fatal.
  // Returns one outcome per entry.
  std::vector<TxnOutcome> apply(std::span<const LogEntry> entries, bool sync);

  // Highest applied index (0 for a fresh store). Thread-safe.
  uint64_t appliedIndex() const { return applied_index_.load(std::memory_order_acquire); }

  // Reads: thread-safe; each is one consistent snapshot. Indexes are never 0.
  KvGetResult get(std::string_view key) const;
  KvListResult list(std::string_view prefix) const;
  // Keys under `prefix`; with a separator, each key is cut just after the first separator that
  // follows the prefix, and duplicates are dropped.
  KvKeysResult keys(std::string_view prefix, std::string_view separator) const;
  // Runs a read-only txn (see isReadOnly) against the current state.
  TxnOutcome readTxn(const v1::Txn& txn) const;

 private:
  class Snapshot;
  uint64_t listIndex(class KvTable& table, std::string_view prefix, uint64_t max_modify) const;

  storage::RocksDb& db_;
  WatchHub& watches_;
  std::atomic<uint64_t> applied_index_{0};
};

}  // namespace cairn::store
