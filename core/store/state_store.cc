#include "core/store/state_store.h"

#include <rocksdb/utilities/write_batch_with_index.h>

#include "core/base/check.h"
#include "core/store/kv_table.h"
#include "core/store/kv_txn.h"

namespace cairn::store {
namespace {

constexpr std::string_view kAppliedIndexKey = "applied_index";

uint64_t atLeastOne(uint64_t index) { return index == 0 ? 1 : index; }

}  // namespace

// A consistent read view: a RocksDB snapshot with a scratch batch that is never written.
class StateStore::Snapshot {
 public:
  explicit Snapshot(const storage::RocksDb& db)
      : db_(db), snapshot_(db.db()->GetSnapshot()), table_(db, batch_, snapshot_) {}
  ~Snapshot() { db_.db()->ReleaseSnapshot(snapshot_); }
  KvTable& table() { return table_; }

 private:
  const storage::RocksDb& db_;
  const rocksdb::Snapshot* snapshot_;
  rocksdb::WriteBatchWithIndex batch_{rocksdb::BytewiseComparator(), 0, true};
  KvTable table_;
};

StateStore::StateStore(storage::RocksDb& db, WatchHub& watches) : db_(db), watches_(watches) {
  std::string bytes;
  rocksdb::Status s = db_.db()->Get(rocksdb::ReadOptions(), db_.family(storage::kMetaFamily),
                                    kAppliedIndexKey, &bytes);
  CHECK_MSG(s.ok() || s.IsNotFound(), s.ToString().c_str());
  applied_index_ = s.ok() ? storage::decodeU64(bytes) : 0;
}

std::vector<TxnOutcome> StateStore::apply(std::span<const LogEntry> entries, bool sync) {
  std::vector<TxnOutcome> outcomes;
  if (entries.empty()) return outcomes;
  outcomes.reserve(entries.size());
  rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0, true);
  KvTable table(db_, batch);
  uint64_t last = appliedIndex();
  for (const LogEntry& entry : entries) {
    CHECK_MSG(entry.index > last, "log entries must be applied in strictly increasing order");
    last = entry.index;
    if (entry.command->has_txn()) {
      outcomes.push_back(executeTxn(table, entry.index, entry.command->txn()));
    } else {
      outcomes.push_back(TxnOutcome{});  // Unknown or empty commands only advance the index.
    }
  }
  CHECK(batch.Put(db_.family(storage::kMetaFamily), kAppliedIndexKey, storage::encodeU64(last)).ok());
  rocksdb::WriteOptions options;
  options.sync = sync;
  rocksdb::Status s = db_.db()->Write(options, batch.GetWriteBatch());
  CHECK_MSG(s.ok(), ("state store write failed: " + s.ToString()).c_str());
  applied_index_.store(last, std::memory_order_release);
  watches_.notify(last, table.touched());
  return outcomes;
}

KvGetResult StateStore::get(std::string_view key) const {
  Snapshot snap(db_);
  KvGetResult result;
  if (auto entry = snap.table().get(key)) {
    result.found = true;
    result.entry = std::move(*entry);
    result.index = atLeastOne(result.entry.modify_index);
  } else {
    result.index = atLeastOne(snap.table().tableIndex());
  }
  return result;
}

uint64_t StateStore::listIndex(KvTable& table, std::string_view prefix, uint64_t max_modify) const {
  uint64_t index = std::max(max_modify, table.maxTombstoneIndex(prefix));
  return atLeastOne(index != 0 ? index : table.tableIndex());
}

KvListResult StateStore::list(std::string_view prefix) const {
  Snapshot snap(db_);
  KvListResult result;
  uint64_t max_modify = 0;
  snap.table().scan(prefix, [&](const KvEntry& e) {
    max_modify = std::max(max_modify, e.modify_index);
    result.entries.push_back(e);
    return true;
  });
  result.index = listIndex(snap.table(), prefix, max_modify);
  return result;
}

KvKeysResult StateStore::keys(std::string_view prefix, std::string_view separator) const {
  Snapshot snap(db_);
  KvKeysResult result;
  uint64_t max_modify = 0;
  snap.table().scan(prefix, [&](const KvEntry& e) {
    max_modify = std::max(max_modify, e.modify_index);
    std::string key = e.key;
    if (!separator.empty()) {
      size_t at = key.find(separator, prefix.size());
      if (at != std::string::npos) key.resize(at + separator.size());
    }
    if (result.keys.empty() || result.keys.back() != key) result.keys.push_back(std::move(key));
    return true;
  });
  result.index = listIndex(snap.table(), prefix, max_modify);
  return result;
}

TxnOutcome StateStore::readTxn(const v1::Txn& txn) const {
  ASSERT(isReadOnly(txn));
  Snapshot snap(db_);
  return executeTxn(snap.table(), appliedIndex(), txn);
}

}  // namespace cairn::store
