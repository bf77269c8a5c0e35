#pragma once
// StateStore: Cairn's replicated state machine. Every change arrives as a committed log entry and
// goes through apply(); nothing else writes state. Reads are served from consistent RocksDB
// snapshots on any thread.

#include <atomic>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/commands.pb.h"
#include "cairn/v1/state_image.pb.h"
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
  //
  // A Restore command (PUT /v1/snapshot) is written on its own: the state becomes the image's
  // content, the applied index becomes the ENTRY's index, and every watcher wakes. Indexes stay
  // monotonic across it: every index a read reports afterwards is at least the entry's index (the
  // "index floor"), so blocking queries waiting across the restore return. An image that fails
  // parseStateImage() changes nothing but the applied index and yields a failed outcome whose
  // error says why, identically on every replica.
  std::vector<TxnOutcome> apply(std::span<const LogEntry> entries, bool sync);

  // The whole state (meta, kv, kv_tombstones) as a serialized cairn.v1.StateImage, read from one
  // RocksDB snapshot: it never blocks apply(). Sets *applied_index (if given) to the image's
  // applied index. Thread-safe.
  std::string image(uint64_t* applied_index = nullptr) const;

  // Replaces the whole state with `image` (a serialized StateImage) in one synced WriteBatch,
  // including the image's applied index, then wakes every watcher. Used to install a Raft
  // snapshot; the image's applied index should not be below appliedIndex(). A corrupt or
  // unsupported image is rejected (kInvalidArgument, state unchanged). Same thread as apply().
  Status restore(std::string_view image);

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
  uint64_t listIndex(Snapshot& snap, std::string_view prefix, uint64_t max_modify) const;
  // apply() for a run of entries without Restore commands: one WriteBatch.
  void applyTxns(std::span<const LogEntry> entries, bool sync, std::vector<TxnOutcome>& out);
  TxnOutcome applyRestore(const LogEntry& entry, bool sync);
  // Replaces meta, kv and kv_tombstones with `image`, records `applied` as the applied index and,
  // when non-zero, `floor` as the index floor; then wakes every watcher.
  void writeImage(const v1::StateImage& image, uint64_t applied, uint64_t floor, bool sync);

  storage::RocksDb& db_;
  WatchHub& watches_;
  std::atomic<uint64_t> applied_index_{0};
  // True once an index floor may exist (set before it is written): until then reads skip it.
  std::atomic<bool> may_have_floor_{false};
};

}  // namespace cairn::store
