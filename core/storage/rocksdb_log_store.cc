#include "core/storage/rocksdb_log_store.h"

#include <rocksdb/write_batch.h>

#include <cstdlib>

#include "core/base/check.h"
#include "core/base/logging.h"

namespace cairn::storage {
namespace {

constexpr const char* kComponent = "raft.log";
constexpr const char* kHardStateKey = "hard_state";
constexpr const char* kLogStartKey = "log_start";
constexpr const char* kSnapshotMetaKey = "snapshot_meta";
constexpr const char* kSnapshotDataKey = "snapshot_data";
constexpr const char* kStablePrefix = "stable/";
constexpr const char* kDamagedDataDirAdvice =
    "In a cluster, stop this server, move its data dir away and start it with an empty one: it "
    "joins as a new server and copies the state from its peers (then remove the old one with "
    "`cairn operator raft remove-peer`). A single server must be restored from a snapshot. See "
    "docs/operations.md, \"Damaged data directories\".";

// Reads `key` of `family`: nullopt when absent; a read error other than NotFound is fatal.
std::optional<std::string> get(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family,
                               const std::string& key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), family, key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) {
    LOG_ERROR(kComponent, "reading " << key << ": " << s.ToString());
    std::abort();
  }
  return value;
}

}  // namespace

RocksDbLogStore::RocksDbLogStore(RocksDb& db)
    : db_(db), log_(db.family(kRaftLogFamily)), stable_(db.family(kRaftStableFamily)) {
  CHECK_MSG(log_ != nullptr && stable_ != nullptr, "RocksDb lacks the raft column families");
}

StatusOr<std::unique_ptr<RocksDbLogStore>> RocksDbLogStore::open(
    RocksDb& db, const std::string& watermark_path) {
  auto store = std::unique_ptr<RocksDbLogStore>(new RocksDbLogStore(db));
  Status s = store->recover();
  if (!s.isOk()) {
    return internalError("data dir damaged: " + s.message() + " in " + db.dir() + ". " +
                         kDamagedDataDirAdvice);
  }
  if (watermark_path.empty()) return store;
  auto watermark = Watermark::open(watermark_path);
  if (!watermark.isOk()) return watermark.status();
  store->watermark_ = std::move(*watermark);
  if (const auto& recorded = store->watermark_->recorded()) {
    CAIRN_RETURN_IF_ERROR(store->checkWatermark(*recorded));
  }
  store->recordWatermark();  // what was just recovered is durable
  return store;
}

WatermarkValues RocksDbLogStore::watermarkValues() const {
  return WatermarkValues{lastIndex(), term(lastIndex()).value_or(0), hard_state_.commit(),
                         hard_state_.term(), hard_state_.vote()};
}

Status RocksDbLogStore::checkWatermark(const WatermarkValues& w) const {
  std::string what;
  auto n = [](uint64_t v) { return std::to_string(v); };
  bool claims_state = w.last_index || w.term || w.commit;
  if (claims_state && !has_state_) {
    what =
        "the Raft state (log, term and vote) is gone, but this server had written it (up to "
        "index " +
        n(w.last_index) + ", term " + n(w.term) + ")";
  } else if (lastIndex() < w.last_index) {
    what = "the Raft log ends at index " + n(lastIndex()) + ", but entries up to index " +
           n(w.last_index) + " had been durable (acknowledged)";
  } else if (w.last_index > offset_ && term(w.last_index) != w.last_term) {
    what = "Raft log entry " + n(w.last_index) + " has term " + n(term(w.last_index).value_or(0)) +
           ", but term " + n(w.last_term) + " had been durable";
  } else if (hard_state_.term() < w.term ||
             (hard_state_.term() == w.term && w.vote != 0 && hard_state_.vote() != w.vote)) {
    what = "the Raft term/vote went back from " + n(w.term) + "/" + n(w.vote) + " to " +
           n(hard_state_.term()) + "/" + n(hard_state_.vote()) + " (it could vote twice)";
  } else if (hard_state_.commit() < w.commit) {
    what = "the Raft commit index went back from " + n(w.commit) + " to " + n(hard_state_.commit());
  }
  if (what.empty()) return Status::ok();
  return internalError("data dir damaged: " + what + " in " + db_.dir() +
                       " (its write-ahead log was truncated or corrupted, or files were "
                       "removed). Refusing to start: serving it would lose acknowledged writes. " +
                       kDamagedDataDirAdvice);
}

Status RocksDbLogStore::lowerWatermarkFor(const std::optional<raft::Snapshot>& snapshot,
                                          const std::vector<raft::Entry>& entries) {
  if (!watermark_ || !watermark_->current()) return Status::ok();
  WatermarkValues lowered = *watermark_->current();
  if (snapshot && snapshot->metadata().index() >= snapshot_meta_.index() &&
      lowered.last_index > snapshot->metadata().index()) {
    lowered.last_index = lowered.last_term = 0;  // the whole log is replaced: no claim
  } else if (!entries.empty() && entries.back().index() >= firstIndex()) {
    uint64_t start = std::max(entries.front().index(), firstIndex());
    if (start > lowered.last_index) return Status::ok();  // appends only
    lowered.last_index = start - 1;                       // the suffix from `start` on is replaced
    lowered.last_term = term(start - 1).value_or(0);
  } else {
    return Status::ok();
  }
  return watermark_->lower(lowered);
}

void RocksDbLogStore::recordWatermark() {
  if (!watermark_) return;
  if (Status s = watermark_->record(watermarkValues()); !s.isOk()) {
    LOG_WARN(kComponent, "could not update the durability watermark: " << s.message());
  }
}

Status RocksDbLogStore::recover() {
  rocksdb::DB* db = db_.db();
  if (auto bytes = get(db, stable_, kHardStateKey)) {
    if (!hard_state_.ParseFromString(*bytes)) return internalError("raft hard state is corrupt");
    has_state_ = true;
  }
  if (auto bytes = get(db, stable_, kSnapshotMetaKey)) {
    if (!snapshot_meta_.ParseFromString(*bytes)) {
      return internalError("raft snapshot metadata is corrupt");
    }
    has_state_ = true;
  }
  if (auto bytes = get(db, stable_, kLogStartKey)) {
    if (bytes->size() != 16) return internalError("raft log start is corrupt");
    offset_ = decodeU64(std::string_view(*bytes).substr(0, 8));
    terms_ = {decodeU64(std::string_view(*bytes).substr(8, 8))};
    has_state_ = true;
  }
  return recoverLog();
}

Status RocksDbLogStore::recoverLog() {
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(rocksdb::ReadOptions(), log_));
  raft::Entry entry;
  for (it->Seek(encodeU64(offset_ + 1)); it->Valid(); it->Next()) {
    uint64_t expected = lastIndex() + 1;
    if (decodeU64(it->key().ToStringView()) != expected) {
      return internalError("raft log has a gap before index " + std::to_string(expected));
    }
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) ||
        entry.index() != expected) {
      return internalError("raft log entry " + std::to_string(expected) + " is corrupt");
    }
    terms_.push_back(entry.term());
    has_state_ = true;
  }
  if (!it->status().ok()) return internalError("reading the raft log: " + it->status().ToString());
  return Status::ok();
}

raft::InitialState RocksDbLogStore::initialState() const {
  return raft::InitialState{hard_state_, snapshot_meta_.conf_state()};
}

uint64_t RocksDbLogStore::firstIndex() const { return offset_ + 1; }

uint64_t RocksDbLogStore::lastIndex() const { return offset_ + terms_.size() - 1; }

std::optional<uint64_t> RocksDbLogStore::term(uint64_t i) const {
  if (i < offset_ || i > lastIndex()) return std::nullopt;
  return terms_[i - offset_];
}

std::vector<raft::Entry> RocksDbLogStore::entries(uint64_t lo, uint64_t hi,
                                                  uint64_t max_bytes) const {
  CHECK(lo >= firstIndex() && lo < hi && hi <= lastIndex() + 1);
  std::string upper = encodeU64(hi);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions options;
  options.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_.db()->NewIterator(options, log_));
  std::vector<raft::Entry> out;
  uint64_t bytes = 0;
  for (it->Seek(encodeU64(lo)); it->Valid(); it->Next()) {
    raft::Entry e;
    uint64_t want = lo + out.size();
    CHECK_MSG(decodeU64(it->key().ToStringView()) == want, "raft log has a gap");
    CHECK_MSG(e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size())) &&
                  e.index() == want,
              "raft log entry is corrupt");
    bytes += raft::entrySize(e);
    if (!out.empty() && bytes > max_bytes) return out;
    out.push_back(std::move(e));
  }
  if (!it->status().ok()) {
    LOG_ERROR(kComponent, "reading the raft log: " << it->status().ToString());
    std::abort();
  }
  CHECK_MSG(out.size() == hi - lo, "raft log is shorter than its mirror");
  return out;
}

StatusOr<raft::Snapshot> RocksDbLogStore::snapshot() const {
  raft::Snapshot snap;
  *snap.mutable_metadata() = snapshot_meta_;
  if (auto data = get(db_.db(), stable_, kSnapshotDataKey)) snap.set_data(std::move(*data));
  return snap;
}

Status RocksDbLogStore::persist(const std::optional<raft::Snapshot>& snapshot,
                                const std::vector<raft::Entry>& entries,
                                const std::optional<raft::HardState>& hard_state, bool sync) {
  CAIRN_RETURN_IF_ERROR(lowerWatermarkFor(snapshot, entries));
  rocksdb::WriteBatch batch;
  if (snapshot && snapshot->metadata().index() >= snapshot_meta_.index()) {
    replaceLog(batch, *snapshot);
  }
  appendEntries(batch, entries);
  if (hard_state) {
    CHECK(batch.Put(stable_, kHardStateKey, hard_state->SerializeAsString()).ok());
    hard_state_ = *hard_state;
  }
  CAIRN_RETURN_IF_ERROR(write(batch, sync));
  if (sync) recordWatermark();
  return Status::ok();
}

void RocksDbLogStore::replaceLog(rocksdb::WriteBatch& batch, const raft::Snapshot& snap) {
  if (lastIndex() > offset_) {
    CHECK(batch.DeleteRange(log_, encodeU64(offset_ + 1), encodeU64(lastIndex() + 1)).ok());
  }
  putSnapshot(batch, snap);
  offset_ = snap.metadata().index();
  terms_ = {snap.metadata().term()};
  putLogStart(batch);
}

void RocksDbLogStore::appendEntries(rocksdb::WriteBatch& batch,
                                    const std::vector<raft::Entry>& entries) {
  if (entries.empty() || entries.back().index() < firstIndex()) return;
  size_t skip = entries[0].index() < firstIndex() ? firstIndex() - entries[0].index() : 0;
  uint64_t start = entries[skip].index();
  CHECK_MSG(start <= lastIndex() + 1, "RocksDbLogStore::persist leaves a gap");
  uint64_t old_last = lastIndex();
  terms_.resize(start - offset_);
  std::string value;
  for (size_t k = skip; k < entries.size(); ++k) {
    const raft::Entry& e = entries[k];
    CHECK_MSG(e.index() == start + (k - skip), "RocksDbLogStore::persist: entries not contiguous");
    CHECK(e.SerializeToString(&value));
    CHECK(batch.Put(log_, encodeU64(e.index()), value).ok());
    terms_.push_back(e.term());
  }
  if (lastIndex() < old_last) {
    CHECK(batch.DeleteRange(log_, encodeU64(lastIndex() + 1), encodeU64(old_last + 1)).ok());
  }
}

Status RocksDbLogStore::saveSnapshot(const raft::Snapshot& snapshot, uint64_t retain) {
  const raft::SnapshotMetadata& md = snapshot.metadata();
  if (md.index() <= snapshot_meta_.index()) {
    LOG_DEBUG(kComponent,
              "ignoring snapshot at " << md.index() << ": have " << snapshot_meta_.index());
    return Status::ok();
  }
  CHECK_MSG(term(md.index()) == md.term(), "snapshot outside the log or with the wrong term");
  rocksdb::WriteBatch batch;
  putSnapshot(batch, snapshot);
  uint64_t compact = md.index() > retain ? md.index() - retain : 0;
  if (compact > offset_) compactTo(batch, compact);
  CAIRN_RETURN_IF_ERROR(write(batch, /*sync=*/true));
  recordWatermark();
  return Status::ok();
}

void RocksDbLogStore::compactTo(rocksdb::WriteBatch& batch, uint64_t index) {
  CHECK(batch.DeleteRange(log_, encodeU64(offset_ + 1), encodeU64(index + 1)).ok());
  terms_.erase(terms_.begin(), terms_.begin() + static_cast<std::ptrdiff_t>(index - offset_));
  offset_ = index;
  putLogStart(batch);
}

void RocksDbLogStore::putSnapshot(rocksdb::WriteBatch& batch, const raft::Snapshot& snap) {
  CHECK(batch.Put(stable_, kSnapshotMetaKey, snap.metadata().SerializeAsString()).ok());
  CHECK(batch.Put(stable_, kSnapshotDataKey, snap.data()).ok());
  snapshot_meta_ = snap.metadata();
}

void RocksDbLogStore::putLogStart(rocksdb::WriteBatch& batch) {
  CHECK(batch.Put(stable_, kLogStartKey, encodeU64(offset_) + encodeU64(terms_[0])).ok());
}

Status RocksDbLogStore::write(rocksdb::WriteBatch& batch, bool sync) {
  Status s;
  if (batch.Count() > 0) {
    rocksdb::WriteOptions options;
    options.sync = sync;
    s = db_.write(options, &batch);
    if (s.isOk()) has_state_ = true;
  } else if (sync) {
    s = db_.syncWal();  // nothing new, but earlier unsynced writes must become durable
  }
  if (s.isOk()) return s;
  LOG_WARN(kComponent,
           "writing the raft log failed (not durable, will be retried): " << s.message());
  hard_state_ = raft::HardState();
  snapshot_meta_ = raft::SnapshotMetadata();
  offset_ = 0;
  terms_ = {0};
  has_state_ = false;
  Status reloaded = recover();
  CHECK_MSG(reloaded.isOk(),
            ("reloading the raft log after a failed write: " + reloaded.message()).c_str());
  return s;
}

std::optional<std::string> RocksDbLogStore::stable(const std::string& name) const {
  return get(db_.db(), stable_, kStablePrefix + name);
}

Status RocksDbLogStore::setStable(const std::string& name, const std::string& value) {
  rocksdb::WriteBatch batch;
  CHECK(batch.Put(stable_, kStablePrefix + name, value).ok());
  rocksdb::WriteOptions options;
  options.sync = true;
  return db_.write(options, &batch);
}

bool RocksDbLogStore::hasState() const { return has_state_; }

}  // namespace cairn::storage
