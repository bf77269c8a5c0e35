#pragma once
// KvTable: the KV table's storage mapping (entries, tombstones and the table index) over a RocksDB
// WriteBatchWithIndex, so that a transaction reads its own uncommitted writes. Writers build their
// changes into the batch; readers use a batch that is thrown away, over a consistent snapshot.
// Not thread-safe: one KvTable per batch.

#include <rocksdb/utilities/write_batch_with_index.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/storage/rocks_db.h"
#include "core/store/kv_types.h"

namespace cairn::store {

class KvTable {
 public:
  // `snapshot` may be null (read the latest state). The batch, db and snapshot outlive the table.
  KvTable(const storage::RocksDb& db, rocksdb::WriteBatchWithIndex& batch,
          const rocksdb::Snapshot* snapshot = nullptr);

  std::optional<KvEntry> get(std::string_view key);
  // Visits every entry whose key starts with `prefix`, in key order; stop by returning false.
  void scan(std::string_view prefix, const std::function<bool(const KvEntry&)>& visit);
  // Newest tombstone index under `prefix` (0 if none).
  uint64_t maxTombstoneIndex(std::string_view prefix);
  // Index of the latest change to the KV table (0 for a fresh store).
  uint64_t tableIndex();

  // Writes `entry` (its indexes already set) and records the change at entry.modify_index.
  void put(const KvEntry& entry);
  // Deletes `key`, leaving a tombstone at `index`.
  void remove(std::string_view key, uint64_t index);

  // Transaction boundaries: roll back every write since the matching savepoint(). RocksDB
  // rebuilds the whole batch's index on a rollback, so one with nothing to undo (a CAS that
  // failed before writing, the common case) only drops the savepoint.
  void savepoint();
  void rollback();
  void release();

  // Keys written or deleted through this table, for watch notification.
  const std::set<std::string>& touched() const { return touched_; }

 private:
  void bumpTableIndex(uint64_t index);
  std::unique_ptr<rocksdb::Iterator> iterator(rocksdb::ColumnFamilyHandle* family);

  const storage::RocksDb& db_;
  rocksdb::WriteBatchWithIndex& batch_;
  rocksdb::ReadOptions read_options_;
  rocksdb::ColumnFamilyHandle* kv_;
  rocksdb::ColumnFamilyHandle* tombstones_;
  rocksdb::ColumnFamilyHandle* meta_;
  void touch(std::string key);

  struct SavePoint {
    uint32_t batch_count;  // records in the batch when it was set
    size_t undo_size;      // touched_undo_.size() when it was set
  };
  std::set<std::string> touched_;
  std::vector<std::string> touched_undo_;  // keys first touched while a savepoint is open
  std::vector<SavePoint> savepoints_;
};

// The smallest string greater than every string starting with `prefix`; empty when none exists.
std::string prefixSuccessor(std::string_view prefix);

}  // namespace cairn::store
