#include "core/store/state_store.h"

#include <rocksdb/utilities/write_batch_with_index.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/base/check.h"
#include "core/store/acl_apply.h"
#include "core/store/kv_table.h"
#include "core/store/kv_txn.h"
#include "core/store/query_apply.h"
#include "core/store/state_image.h"
#include "core/store/state_snapshot.h"

namespace cairn::store {
namespace {

constexpr std::string_view kAppliedIndexKey = "applied_index";
// Entries applied in one RocksDB write batch: bounds what a rolled-back transaction costs (RocksDB
// re-indexes the whole batch) when a restarted or new server applies thousands at once.
constexpr size_t kMaxEntriesPerWrite = 512;

// Calls visit(key, value) for every entry of `family` as of `snapshot`.
template <typename Visit>
void scanFamily(const storage::RocksDb& db, const char* family, const rocksdb::Snapshot* snapshot,
                Visit visit) {
  rocksdb::ReadOptions options;
  options.snapshot = snapshot;
  options.fill_cache = false;  // a full scan would evict the working set
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(options, db.family(family)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) visit(it->key(), it->value());
  db.checkRead(it->status(), std::string("scanning ") + family);
}

// Deletes every key of `family` (keys only change on the applier's thread, which calls this).
void clearFamily(const storage::RocksDb& db, const char* family, rocksdb::WriteBatch& batch) {
  rocksdb::ColumnFamilyHandle* handle = db.family(family);
  std::unique_ptr<rocksdb::Iterator> it(db.db()->NewIterator(rocksdb::ReadOptions(), handle));
  it->SeekToLast();
  CHECK_MSG(it->status().ok(), it->status().ToString().c_str());
  if (!it->Valid()) return;
  std::string end = it->key().ToString();
  end.push_back('\0');  // the smallest key above the last one
  CHECK(batch.DeleteRange(handle, "", end).ok());
}

Status writeBatch(storage::RocksDb& db, rocksdb::WriteBatch* batch, bool sync) {
  rocksdb::WriteOptions options;
  options.sync = sync;
  return db.write(options, batch);
}

// Callers that pass no Status keep the old contract: a failed write is fatal.
void reportOrDie(Status written, Status* status) {
  if (status != nullptr) {
    *status = std::move(written);
    return;
  }
  CHECK_MSG(written.isOk(), ("state store write failed: " + written.message()).c_str());
}

const Clock& systemClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

StateStore::StateStore(storage::RocksDb& db, WatchHub& watches, const Clock* clock)
    : db_(db), watches_(watches), clock_(clock != nullptr ? *clock : systemClock()) {
  auto meta = [&](std::string_view key) -> std::optional<uint64_t> {
    std::string bytes;
    rocksdb::Status s =
        db_.db()->Get(rocksdb::ReadOptions(), db_.family(storage::kMetaFamily), key, &bytes);
    CHECK_MSG(s.ok() || s.IsNotFound(), s.ToString().c_str());
    if (!s.ok()) return std::nullopt;
    return storage::decodeU64(bytes);
  };
  applied_index_ = meta(kAppliedIndexKey).value_or(0);
  may_have_floor_ = meta(kIndexFloorKey).has_value();
}

std::vector<TxnOutcome> StateStore::apply(std::span<const LogEntry> entries, bool sync,
                                          Status* status) {
  if (status != nullptr) *status = Status::ok();
  std::vector<TxnOutcome> outcomes;
  outcomes.reserve(entries.size());
  size_t begin = 0;
  while (begin < entries.size()) {
    size_t end = begin;
    while (end < entries.size() && end - begin < kMaxEntriesPerWrite &&
           !entries[end].command->has_restore()) {
      ++end;
    }
    Status written;
    if (end > begin) written = applyTxns(entries.subspan(begin, end - begin), sync, outcomes);
    // The run stopped at a restore or at the batch cap; only a restore is applied here.
    if (written.isOk() && end < entries.size() && entries[end].command->has_restore()) {
      written = applyRestore(entries[end++], sync, outcomes);
    }
    if (!written.isOk()) {
      reportOrDie(std::move(written), status);
      return outcomes;
    }
    begin = end;
  }
  return outcomes;
}

Status StateStore::applyTxns(std::span<const LogEntry> entries, bool sync,
                             std::vector<TxnOutcome>& out) {
  size_t first_outcome = out.size();
  rocksdb::WriteBatchWithIndex batch(rocksdb::BytewiseComparator(), 0, true);
  KvTable table(db_, batch);
  CatalogTable catalog(db_, batch);
  Tables tables{table, catalog};
  ApplyEffects effects;
  uint64_t last = appliedIndex();
  try {
    for (const LogEntry& entry : entries) {
      CHECK_MSG(entry.index > last, "log entries must be applied in strictly increasing order");
      last = entry.index;
      out.push_back(applyCommand(tables, entry, effects));
    }
  } catch (const storage::ReadError& e) {
    // A damaged block under a key this batch reads: nothing of the batch is applied. The caller
    // retries later (and keeps failing while the damage is there) instead of crashing on it.
    out.resize(first_outcome);
    return unavailable(e.what());
  }
  CHECK(
      batch.Put(db_.family(storage::kMetaFamily), kAppliedIndexKey, storage::encodeU64(last)).ok());
  if (Status written = writeBatch(db_, batch.GetWriteBatch(), sync); !written.isOk()) {
    out.resize(first_outcome);  // nothing of this batch happened
    return written;
  }
  applied_index_.store(last, std::memory_order_release);
  publishEffects(effects);
  std::set<std::string> touched = table.touched();
  touched.insert(catalog.touched().begin(), catalog.touched().end());
  watches_.notify(last, touched);
  return Status::ok();
}

TxnOutcome StateStore::applyCommand(Tables& t, const LogEntry& entry, ApplyEffects& effects) {
  const v1::Command& c = *entry.command;
  switch (c.kind_case()) {
    case v1::Command::kTxn:
      return executeTxn(t, entry.index, c.txn());
    case v1::Command::kCatalogRegister:
      return applyCatalogRegister(t, entry.index, c.catalog_register(), effects);
    case v1::Command::kCatalogDeregister:
      return applyCatalogDeregister(t, entry.index, c.catalog_deregister(), effects);
    case v1::Command::kSessionCreate:
      return applySessionCreate(t, entry.index, c.session_create(), effects);
    case v1::Command::kSessionDestroy:
      return applySessionDestroy(t, entry.index, c.session_destroy(), effects);
    case v1::Command::kSessionRenew:
      return applySessionRenew(t, c.session_renew(), effects);
    case v1::Command::kEventFire:
      return applyEventFire(t, entry.index, c.event_fire());
    case v1::Command::kAutopilotSetConfig:
      return applyAutopilotSetConfig(t, entry.index, c.autopilot_set_config());
    case v1::Command::kAclBootstrap:
      return applyAclBootstrap(t, entry.index, c.acl_bootstrap());
    case v1::Command::kAclTokenSet:
      return applyAclTokenSet(t, entry.index, c.acl_token_set());
    case v1::Command::kAclTokenDelete:
      return applyAclTokenDelete(t, entry.index, c.acl_token_delete());
    case v1::Command::kAclPolicySet:
      return applyAclPolicySet(t, entry.index, c.acl_policy_set());
    case v1::Command::kAclPolicyDelete:
      return applyAclPolicyDelete(t, entry.index, c.acl_policy_delete());
    case v1::Command::kAclRoleSet:
      return applyAclRoleSet(t, entry.index, c.acl_role_set());
    case v1::Command::kAclRoleDelete:
      return applyAclRoleDelete(t, entry.index, c.acl_role_delete());
    case v1::Command::kMemberUpdate:
      return applyMemberUpdate(t, entry.index, c.member_update(), effects);
    case v1::Command::kPreparedQuerySet:
      return applyPreparedQuerySet(t, entry.index, c.prepared_query_set());
    case v1::Command::kPreparedQueryDelete:
      return applyPreparedQueryDelete(t, entry.index, c.prepared_query_delete());
    default:
      return TxnOutcome{};  // Unknown or empty commands only advance the index.
  }
}

void StateStore::publishEffects(const ApplyEffects& effects) {
  if (!effects.lock_delays.empty()) {
    SteadyTime now = clock_.now();
    std::lock_guard lock(lock_delay_mu_);
    for (auto it = lock_delays_.begin(); it != lock_delays_.end();) {
      it = it->second <= now ? lock_delays_.erase(it) : std::next(it);
    }
    for (const LockDelay& d : effects.lock_delays) {
      lock_delays_[d.key] = now + std::chrono::nanoseconds(d.delay_ns);
    }
  }
  if (session_observer_ == nullptr) return;
  for (const SessionClock& clock : effects.sessions) session_observer_->onSessionClock(clock);
}

bool StateStore::lockDelayed(std::string_view key) const {
  std::lock_guard lock(lock_delay_mu_);
  auto it = lock_delays_.find(key);
  return it != lock_delays_.end() && it->second > clock_.now();
}

Status StateStore::applyRestore(const LogEntry& entry, bool sync, std::vector<TxnOutcome>& out) {
  CHECK_MSG(entry.index > appliedIndex(),
            "log entries must be applied in strictly increasing order");
  auto image = parseStateImage(entry.command->restore().image());
  if (image.isOk()) {
    CAIRN_RETURN_IF_ERROR(writeImage(*image, entry.index, entry.index, sync));
    out.push_back(TxnOutcome{});
    return Status::ok();
  }
  rocksdb::WriteBatch batch;
  CHECK(
      batch.Put(db_.family(storage::kMetaFamily), kAppliedIndexKey, storage::encodeU64(entry.index))
          .ok());
  CAIRN_RETURN_IF_ERROR(writeBatch(db_, &batch, sync));
  applied_index_.store(entry.index, std::memory_order_release);
  watches_.notify(entry.index, {});
  out.push_back(TxnOutcome{false, {}, {TxnError{0, image.status().message()}}});
  return Status::ok();
}

Status StateStore::restore(std::string_view bytes) {
  auto image = parseStateImage(bytes);
  if (!image.isOk()) return image.status();
  return writeImage(*image, image->applied_index(), 0, /*sync=*/true);
}

Status StateStore::writeImage(const v1::StateImage& image, uint64_t applied, uint64_t floor,
                              bool sync) {
  rocksdb::ColumnFamilyHandle* meta = db_.family(storage::kMetaFamily);
  rocksdb::ColumnFamilyHandle* kv = db_.family(storage::kKvFamily);
  rocksdb::ColumnFamilyHandle* tombstones = db_.family(storage::kTombstoneFamily);
  rocksdb::ColumnFamilyHandle* catalog = db_.family(storage::kCatalogFamily);
  rocksdb::WriteBatch batch;
  for (const char* family : {storage::kMetaFamily, storage::kKvFamily, storage::kTombstoneFamily,
                             storage::kCatalogFamily}) {
    clearFamily(db_, family, batch);
  }
  bool floor_in_image = false;
  for (const auto& t : image.table_indexes()) {
    floor_in_image |= t.name() == kIndexFloorKey;
    CHECK(batch.Put(meta, t.name(), storage::encodeU64(t.index())).ok());
  }
  if (floor != 0) CHECK(batch.Put(meta, kIndexFloorKey, storage::encodeU64(floor)).ok());
  for (const auto& e : image.kv())
    CHECK(batch.Put(kv, e.key(), e.entry().SerializeAsString()).ok());
  for (const auto& t : image.tombstones()) {
    CHECK(batch.Put(tombstones, t.key(), storage::encodeU64(t.index())).ok());
  }
  for (const auto& row : image.catalog()) CHECK(batch.Put(catalog, row.key(), row.value()).ok());
  CHECK(batch.Put(meta, kAppliedIndexKey, storage::encodeU64(applied)).ok());
  // Readers must look for a floor before one can be visible; see Snapshot::floor().
  if (floor != 0 || floor_in_image) may_have_floor_.store(true);
  CAIRN_RETURN_IF_ERROR(writeBatch(db_, &batch, sync));
  applied_index_.store(applied, std::memory_order_release);
  watches_.notifyAll(applied);
  return Status::ok();
}

std::string StateStore::image(uint64_t* applied_index) const {
  SnapshotHandle snapshot(db_);
  v1::StateImage image;
  image.set_format(std::string(kStateImageFormat));
  image.set_version(kStateImageVersion);
  scanFamily(db_, storage::kMetaFamily, snapshot.get(),
             [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
               CHECK_MSG(value.size() == 8, "corrupt meta entry in the state store");
               uint64_t index = storage::decodeU64(value.ToStringView());
               if (key.ToStringView() == kAppliedIndexKey) {
                 image.set_applied_index(index);
                 return;
               }
               auto* t = image.add_table_indexes();
               t->set_name(key.ToString());
               t->set_index(index);
             });
  scanFamily(db_, storage::kKvFamily, snapshot.get(),
             [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
               auto* e = image.add_kv();
               e->set_key(key.ToString());
               CHECK_MSG(
                   e->mutable_entry()->ParseFromArray(value.data(), static_cast<int>(value.size())),
                   "corrupt KV entry in the state store");
             });
  scanFamily(db_, storage::kTombstoneFamily, snapshot.get(),
             [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
               auto* t = image.add_tombstones();
               t->set_key(key.ToString());
               t->set_index(storage::decodeU64(value.ToStringView()));
             });
  scanFamily(db_, storage::kCatalogFamily, snapshot.get(),
             [&](const rocksdb::Slice& key, const rocksdb::Slice& value) {
               auto* row = image.add_catalog();
               row->set_key(key.ToString());
               row->set_value(value.ToString());
             });
  if (applied_index != nullptr) *applied_index = image.applied_index();
  return image.SerializeAsString();
}

KvGetResult StateStore::get(std::string_view key) const {
  Snapshot snap(db_, may_have_floor_.load());
  KvGetResult result;
  if (auto entry = snap.table().get(key)) {
    result.found = true;
    result.entry = std::move(*entry);
    result.index = snap.report(result.entry.modify_index);
  } else {
    result.index = snap.report(snap.table().tableIndex());
  }
  return result;
}

uint64_t StateStore::listIndex(Snapshot& snap, std::string_view prefix, uint64_t max_modify) const {
  uint64_t index = std::max(max_modify, snap.table().maxTombstoneIndex(prefix));
  return snap.report(index != 0 ? index : snap.table().tableIndex());
}

KvListResult StateStore::list(std::string_view prefix) const {
  Snapshot snap(db_, may_have_floor_.load());
  KvListResult result;
  uint64_t max_modify = 0;
  snap.table().scan(prefix, [&](const KvEntry& e) {
    max_modify = std::max(max_modify, e.modify_index);
    result.entries.push_back(e);
    return true;
  });
  result.index = listIndex(snap, prefix, max_modify);
  return result;
}

KvKeysResult StateStore::keys(std::string_view prefix, std::string_view separator) const {
  Snapshot snap(db_, may_have_floor_.load());
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
  result.index = listIndex(snap, prefix, max_modify);
  return result;
}

TxnOutcome StateStore::readTxn(const v1::Txn& txn) const {
  ASSERT(isReadOnly(txn));
  Snapshot snap(db_, false);
  Tables tables = snap.tables();
  return executeTxn(tables, appliedIndex(), txn);
}

}  // namespace cairn::store
