#pragma once
// Private to core/store: the consistent read view StateStore's reads share (state_store.cc,
// catalog_reads.cc).

#include <rocksdb/utilities/write_batch_with_index.h>

#include <algorithm>
#include <string_view>

#include "core/base/check.h"
#include "core/storage/rocks_db.h"
#include "core/store/catalog_table.h"
#include "core/store/kv_table.h"
#include "core/store/state_store.h"

namespace cairn::store {

// The lowest index any read reports: the log index of the last Restore command (absent before).
inline constexpr std::string_view kIndexFloorKey = "index_floor";

inline uint64_t atLeastOne(uint64_t index) { return index == 0 ? 1 : index; }

// A RocksDB snapshot, released on destruction.
class SnapshotHandle {
 public:
  explicit SnapshotHandle(const storage::RocksDb& db)
      : db_(db), snapshot_(db.db()->GetSnapshot()) {}
  ~SnapshotHandle() { db_.db()->ReleaseSnapshot(snapshot_); }
  SnapshotHandle(const SnapshotHandle&) = delete;
  SnapshotHandle& operator=(const SnapshotHandle&) = delete;
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  const storage::RocksDb& db_;
  const rocksdb::Snapshot* snapshot_;
};

// A consistent read view: a RocksDB snapshot with a scratch batch that is never written.
class StateStore::Snapshot {
 public:
  Snapshot(const storage::RocksDb& db, bool may_have_floor)
      : db_(db),
        snapshot_(db),
        table_(db, batch_, snapshot_.get()),
        catalog_(db, batch_, snapshot_.get()),
        read_floor_(may_have_floor) {}
  KvTable& table() { return table_; }
  CatalogTable& catalog() { return catalog_; }
  Tables tables() { return Tables{table_, catalog_}; }
  // `index` raised to the index floor of this snapshot, and never 0.
  uint64_t report(uint64_t index) { return std::max(atLeastOne(index), floor()); }

 private:
  uint64_t floor() {
    if (!read_floor_) return 0;
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_.get();
    std::string bytes;
    rocksdb::Status s =
        db_.db()->Get(options, db_.family(storage::kMetaFamily), kIndexFloorKey, &bytes);
    db_.checkRead(s, "reading the index floor");
    return s.ok() ? storage::decodeU64(bytes) : 0;
  }

  const storage::RocksDb& db_;
  SnapshotHandle snapshot_;
  rocksdb::WriteBatchWithIndex batch_{rocksdb::BytewiseComparator(), 0, true};
  KvTable table_;
  CatalogTable catalog_;
  bool read_floor_;
};

}  // namespace cairn::store
