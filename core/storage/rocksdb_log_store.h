#pragma once
// RocksDbLogStore: the LogStore on the agent's one RocksDB (column families raft_log and
// raft_stable, see rocks_db.h). Answers raft::Storage exactly as raft::MemoryStorage does: the log
// is a dummy entry (index and term of the last compacted entry, or of the snapshot that replaced
// the log) followed by the entries firstIndex()..lastIndex().
//
// Layout: raft_log maps encodeU64(index) to a serialized RaftEntry for every index in
// [firstIndex(), lastIndex()]. raft_stable holds "hard_state" (HardState), "log_start" (the dummy's
// index and term, 16 bytes big-endian; absent means 0/0), "snapshot_meta" (SnapshotMetadata),
// "snapshot_data" (the image) and "stable/<name>" (named values).
//
// Memory: the hard state, the snapshot metadata and the term of every entry in the log (8 bytes
// an entry) are mirrored in memory, so term(), firstIndex(), lastIndex() and initialState() never
// read the disk. entries() and snapshot() read RocksDB.
//
// Threads: as LogStore (the Ready loop only; stable values from any thread). The RocksDb must
// outlive this object.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/storage/log_store.h"
#include "core/storage/rocks_db.h"
#include "core/storage/watermark.h"

namespace cairn::storage {

class RocksDbLogStore final : public LogStore {
 public:
  // Recovers the mirror from `db`. Fails when the stored log is corrupt: a gap, an unparsable
  // record, or an entry whose index disagrees with its key. An I/O error while reading is fatal.
  // With `watermark_path` (watermark.h), also fails when the recovered log, term, vote or commit
  // index is behind what the watermark recorded as durable: "data dir damaged: ..." with what is
  // missing and what to do. Without it (tests), no such check.
  static StatusOr<std::unique_ptr<RocksDbLogStore>> open(RocksDb& db,
                                                         const std::string& watermark_path = "");

  raft::InitialState initialState() const override;
  std::vector<raft::Entry> entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  std::optional<uint64_t> term(uint64_t i) const override;
  uint64_t firstIndex() const override;
  uint64_t lastIndex() const override;
  StatusOr<raft::Snapshot> snapshot() const override;

  // As LogStore. A snapshot older than the stored one is ignored (as MemoryStorage does); entries
  // must be contiguous and start at or before lastIndex() + 1 (after the snapshot, if any).
  Status persist(const std::optional<raft::Snapshot>& snapshot,
                 const std::vector<raft::Entry>& entries,
                 const std::optional<raft::HardState>& hard_state, bool sync) override;
  // As LogStore, synced. Ignored unless the index is above the stored snapshot's; the index must be
  // in [firstIndex() - 1, lastIndex()] and the term must match the log's (else CHECK-fails).
  Status saveSnapshot(const raft::Snapshot& snapshot, uint64_t retain) override;

  std::optional<std::string> stable(const std::string& name) const override;
  Status setStable(const std::string& name, const std::string& value) override;
  bool hasState() const override;

 private:
  explicit RocksDbLogStore(RocksDb& db);

  Status recover();
  Status recoverLog();
  // The recovered state against what the watermark recorded (open).
  Status checkWatermark(const WatermarkValues& w) const;
  WatermarkValues watermarkValues() const;
  // Before a write that shrinks the log below the watermark: lowers it (synced) first.
  Status lowerWatermarkFor(const std::optional<raft::Snapshot>& snapshot,
                           const std::vector<raft::Entry>& entries);
  // After a synced write: records the new durable values (a failure only weakens the check).
  void recordWatermark();
  // Adds the replacement of the whole log by `snap` to `batch` and the mirror.
  void replaceLog(rocksdb::WriteBatch& batch, const raft::Snapshot& snap);
  // Adds `entries` (those above the dummy) to `batch` and the mirror, dropping any suffix beyond.
  void appendEntries(rocksdb::WriteBatch& batch, const std::vector<raft::Entry>& entries);
  // Adds the drop of every entry up to and including `index` to `batch` and the mirror.
  void compactTo(rocksdb::WriteBatch& batch, uint64_t index);
  void putSnapshot(rocksdb::WriteBatch& batch, const raft::Snapshot& snap);
  void putLogStart(rocksdb::WriteBatch& batch);
  // Writes `batch`. On failure the mirror, already updated for the batch, is reloaded from the
  // database (which the failed write did not change): a rare path, so it may read the whole log.
  Status write(rocksdb::WriteBatch& batch, bool sync);

  RocksDb& db_;
  rocksdb::ColumnFamilyHandle* log_;
  rocksdb::ColumnFamilyHandle* stable_;

  raft::HardState hard_state_;
  raft::SnapshotMetadata snapshot_meta_;
  // The dummy's index; terms_[i - offset_] is the term of entry i, terms_[0] the dummy's.
  uint64_t offset_ = 0;
  std::deque<uint64_t> terms_{0};
  bool has_state_ = false;
  std::unique_ptr<Watermark> watermark_;  // null without a watermark path
};

}  // namespace cairn::storage
