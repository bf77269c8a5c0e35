#include "core/store/kv_table.h"

#include "cairn/v1/commands.pb.h"
#include "core/base/check.h"

namespace cairn::store {
namespace {

constexpr std::string_view kKvIndexKey = "kv_index";

KvEntry decodeEntry(std::string_view key, const std::string& bytes) {
  v1::StoredKvEntry stored;
  CHECK_MSG(stored.ParseFromString(bytes), "corrupt KV entry in the state store");
  return KvEntry{std::string(key),      stored.value(),      stored.flags(),  stored.create_index(),
                 stored.modify_index(), stored.lock_index(), stored.session()};
}

std::string encodeEntry(const KvEntry& entry) {
  v1::StoredKvEntry stored;
  stored.set_value(entry.value);
  stored.set_flags(entry.flags);
  stored.set_create_index(entry.create_index);
  stored.set_modify_index(entry.modify_index);
  stored.set_lock_index(entry.lock_index);
  stored.set_session(entry.session);
  return stored.SerializeAsString();
}

bool hasPrefix(const rocksdb::Slice& key, std::string_view prefix) {
  return key.size() >= prefix.size() && std::string_view(key.data(), prefix.size()) == prefix;
}

}  // namespace

std::string prefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty() && static_cast<unsigned char>(out.back()) == 0xff) out.pop_back();
  if (!out.empty()) out.back() = static_cast<char>(static_cast<unsigned char>(out.back()) + 1);
  return out;
}

KvTable::KvTable(const storage::RocksDb& db, rocksdb::WriteBatchWithIndex& batch,
                 const rocksdb::Snapshot* snapshot)
    : db_(db),
      batch_(batch),
      kv_(db.family(storage::kKvFamily)),
      tombstones_(db.family(storage::kTombstoneFamily)),
      meta_(db.family(storage::kMetaFamily)) {
  read_options_.snapshot = snapshot;
}

std::optional<KvEntry> KvTable::get(std::string_view key) {
  std::string bytes;
  rocksdb::Status s = batch_.GetFromBatchAndDB(db_.db(), read_options_, kv_, key, &bytes);
  if (s.IsNotFound()) return std::nullopt;
  db_.checkRead(s, "reading a KV entry");
  return decodeEntry(key, bytes);
}

std::unique_ptr<rocksdb::Iterator> KvTable::iterator(rocksdb::ColumnFamilyHandle* family) {
  return std::unique_ptr<rocksdb::Iterator>(
      batch_.NewIteratorWithBase(family, db_.db()->NewIterator(read_options_, family)));
}

void KvTable::scan(std::string_view prefix, const std::function<bool(const KvEntry&)>& visit) {
  auto it = iterator(kv_);
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    if (!hasPrefix(it->key(), prefix)) break;
    if (!visit(decodeEntry(it->key().ToStringView(), it->value().ToString()))) break;
  }
  db_.checkRead(it->status(), "scanning KV entries");
}

uint64_t KvTable::maxTombstoneIndex(std::string_view prefix) {
  uint64_t max_index = 0;
  auto it = iterator(tombstones_);
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    if (!hasPrefix(it->key(), prefix)) break;
    max_index = std::max(max_index, storage::decodeU64(it->value().ToStringView()));
  }
  db_.checkRead(it->status(), "scanning KV tombstones");
  return max_index;
}

uint64_t KvTable::tableIndex() {
  std::string bytes;
  rocksdb::Status s = batch_.GetFromBatchAndDB(db_.db(), read_options_, meta_, kKvIndexKey, &bytes);
  db_.checkRead(s, "reading the KV index");
  return s.ok() ? storage::decodeU64(bytes) : 0;
}

void KvTable::put(const KvEntry& entry) {
  CHECK(batch_.Put(kv_, entry.key, encodeEntry(entry)).ok());
  CHECK(batch_.Delete(tombstones_, entry.key).ok());
  bumpTableIndex(entry.modify_index);
  touch(entry.key);
}

void KvTable::remove(std::string_view key, uint64_t index) {
  CHECK(batch_.Delete(kv_, key).ok());
  CHECK(batch_.Put(tombstones_, key, storage::encodeU64(index)).ok());
  bumpTableIndex(index);
  touch(std::string(key));
}

void KvTable::touch(std::string key) {
  auto [it, inserted] = touched_.insert(std::move(key));
  if (inserted && !savepoints_.empty()) touched_undo_.push_back(*it);
}

void KvTable::savepoint() {
  batch_.SetSavePoint();
  savepoints_.push_back({batch_.GetWriteBatch()->Count(), touched_undo_.size()});
}

void KvTable::rollback() {
  SavePoint point = savepoints_.back();
  savepoints_.pop_back();
  if (batch_.GetWriteBatch()->Count() == point.batch_count) {
    CHECK(batch_.PopSavePoint().ok());
  } else {
    CHECK(batch_.RollbackToSavePoint().ok());
  }
  while (touched_undo_.size() > point.undo_size) {
    touched_.erase(touched_undo_.back());
    touched_undo_.pop_back();
  }
}

void KvTable::release() {
  CHECK(batch_.PopSavePoint().ok());
  savepoints_.pop_back();
  if (savepoints_.empty()) touched_undo_.clear();
}

void KvTable::bumpTableIndex(uint64_t index) {
  if (index > tableIndex()) CHECK(batch_.Put(meta_, kKvIndexKey, storage::encodeU64(index)).ok());
}

}  // namespace cairn::store
