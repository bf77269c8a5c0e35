#include "core/storage/rocks_db.h"

#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>

#include <filesystem>
#include <system_error>

namespace cairn::storage {
namespace {

const std::vector<std::string>& familyNames() {
  static const std::vector<std::string> kNames = {rocksdb::kDefaultColumnFamilyName,
                                                  kMetaFamily,
                                                  kKvFamily,
                                                  kTombstoneFamily,
                                                  kCatalogFamily,
                                                  kLocalFamily,
                                                  kRaftLogFamily,
                                                  kRaftStableFamily};
  return kNames;
}

// Turns RocksDB's own background recovery off: RocksDb::write() resumes the database itself
// (Resume()) on a write after a failure, once there is room. RocksDB's attempt, made while the
// disk may still be full, can turn the error fatal (see resumeAfterFault), and while it runs every
// Resume() is answered Busy. One retry schedule (the Raft loop's) is simpler.
class ManualRecovery final : public rocksdb::EventListener {
 public:
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    *auto_recovery = false;
  }
};

rocksdb::ColumnFamilyOptions familyOptions() {
  rocksdb::ColumnFamilyOptions options;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset();  // Point lookups are served mostly from memtables and block cache.
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  options.compression = rocksdb::kLZ4Compression;
  return options;
}

// Opening writes a new MANIFEST, WAL and OPTIONS file and flushes what it recovers from the old
// WALs into SSTs. On a full disk those writes fail, and RocksDB (Debian's build keeps its
// assertions) can abort on a file whose write failed. So a start on a disk without room for that
// is refused first, in one clear line: the WALs' size plus 1 MiB must be free.
Status checkRoomToOpen(const std::string& dir, rocksdb::Env* env) {
  uint64_t free_bytes = 0;
  std::error_code ec;
  std::filesystem::path probe = dir;
  while (!probe.empty() && !std::filesystem::exists(probe, ec)) probe = probe.parent_path();
  if (probe.empty() || !env->GetFreeSpace(probe.string(), &free_bytes).ok()) return Status::ok();
  uint64_t needed = 1u << 20;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".log") needed += entry.file_size(ec);
  }
  if (free_bytes >= needed) return Status::ok();
  return unavailable("disk full: cannot open the database in " + dir + ": " +
                     std::to_string(free_bytes) + " bytes free, " + std::to_string(needed) +
                     " needed to recover it (free space on its file system, then start again)");
}

}  // namespace

StatusOr<std::unique_ptr<RocksDb>> RocksDb::open(const std::string& dir, rocksdb::Env* env,
                                                 bool must_exist) {
  CAIRN_RETURN_IF_ERROR(checkRoomToOpen(dir, env != nullptr ? env : rocksdb::Env::Default()));
  rocksdb::DBOptions options;
  if (env != nullptr) options.env = env;
  options.create_if_missing = !must_exist;
  // Checksums of every record and block are verified as they are read (the defaults, spelled out:
  // damage must fail loudly). The WAL is recovered up to its first damaged record, which is what
  // a power loss leaves (a torn, never acknowledged tail); damage before the tail is caught by
  // the Raft log store's watermark (watermark.h), since this mode would silently cut it there.
  options.paranoid_checks = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  options.listeners.push_back(std::make_shared<ManualRecovery>());
  options.create_missing_column_families = true;
  options.keep_log_file_num = 3;
  options.max_background_jobs = 2;
  options.info_log_level = rocksdb::WARN_LEVEL;
  // Not set: recycle_log_file_num. Overwriting old WAL files would spare fdatasync the inode update
  // of a growing file (on our 2-core VMs a 256-byte record synced to a growing file has a p99 of
  // ~1.1 ms, to a preallocated one ~0.2 ms), but RocksDB 7.8 silently turns it off in every
  // recovery mode except kSkipAnyCorruptedRecords, which may drop synced Raft entries.
  // The WAL is still preallocated (allow_fallocate, on by default), which spares block allocation.
  // Every family shares the WAL, and a WAL file lives until every family with data in it has
  // flushed. raft_stable receives a few bytes per Ready and would pin WAL files for a long time
  // (the default cap is 4 x the sum of all write buffers, gigabytes): force those flushes at
  // 128 MiB so the WAL, and the replay on restart, stay bounded (measured: after 432 MB of log
  // entries, 46 MB of live WAL instead of 446 MB).
  options.max_total_wal_size = 128ull << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& name : familyNames()) descriptors.emplace_back(name, familyOptions());
  auto out = std::unique_ptr<RocksDb>(new RocksDb(dir));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dir, descriptors, &out->handles_, &raw);
  if (s.IsNoSpace()) {
    return unavailable("disk full: cannot open the database in " + dir +
                       " (free space on its file system, then start again): " + s.ToString());
  }
  if (must_exist && s.IsInvalidArgument() &&
      s.ToString().find("does not exist") != std::string::npos) {
    return internalError(
        "data dir damaged: the database in " + dir +
        " is missing (no CURRENT file), but this data dir has a node ID: refusing to start an "
        "empty database under the same identity (it would forget its Raft log and vote). Restore "
        "the directory, or move the data dir away and start with an empty one to join as a new "
        "server (docs/operations.md, \"Damaged data directories\"). RocksDB: " +
        s.ToString());
  }
  if (s.IsCorruption() || s.IsIOError()) {
    return internalError("data dir damaged: RocksDB cannot open " + dir + ": " + s.ToString() +
                         ". Restore the directory, or move the data dir away and start with an "
                         "empty one to join as a new server (docs/operations.md, \"Damaged data "
                         "directories\")");
  }
  if (!s.ok()) return internalError("opening RocksDB in " + dir + ": " + s.ToString());
  out->db_.reset(raw);
  return out;
}

RocksDb::~RocksDb() {
  for (auto* handle : handles_) db_->DestroyColumnFamilyHandle(handle);
  if (db_) (void)db_->Close();
}

rocksdb::ColumnFamilyHandle* RocksDb::family(const std::string& name) const {
  for (auto* handle : handles_) {
    if (handle->GetName() == name) return handle;
  }
  return nullptr;
}

Status RocksDb::flush() {
  rocksdb::FlushOptions options;
  options.wait = true;
  rocksdb::Status s = db_->Flush(options, handles_);
  if (!s.ok()) return internalError("flushing " + dir_ + ": " + s.ToString());
  return Status::ok();
}

uint64_t RocksDb::approximateSizeBytes() const {
  uint64_t total = 0;
  for (auto* handle : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(handle, rocksdb::DB::Properties::kTotalSstFilesSize, &v)) total += v;
    if (db_->GetIntProperty(handle, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) total += v;
  }
  return total;
}

Status RocksDb::write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch) {
  CAIRN_RETURN_IF_ERROR(resumeAfterFault());
  rocksdb::Status s = db_->Write(options, batch);
  if (!s.ok()) return writeFailed(s);
  health_.reportWriteSuccess();
  return Status::ok();
}

Status RocksDb::syncWal() {
  CAIRN_RETURN_IF_ERROR(resumeAfterFault());
  rocksdb::Status s = db_->SyncWAL();
  if (!s.ok()) return writeFailed(s);
  health_.reportWriteSuccess();
  return Status::ok();
}

Status RocksDb::resumeAfterFault() {
  if (!health_.hasWriteFault()) return Status::ok();
  // RocksDB stopped accepting writes at the failure. Resume() flushes the memtables (the WAL that
  // failed may end in a partial record, so it is retired) -- and a flush that fails during
  // Resume() turns the error fatal: RocksDB would then refuse writes until it is reopened. So it
  // is only tried once the file system has room for the memtables.
  if (!hasRoomToResume()) {
    StorageHealth::View v = health_.view();
    return unavailable(std::string(writeFaultName(v.write_fault)) + ": writing to " + dir_ +
                       " failed: " + v.write_error);
  }
  rocksdb::Status resumed = db_->Resume();
  if (resumed.ok()) return Status::ok();
  if (resumed.severity() >= rocksdb::Status::Severity::kFatalError) {
    return writeFailed(resumed, " (RocksDB cannot resume by itself: restart the agent)");
  }
  return writeFailed(resumed);
}

bool RocksDb::hasRoomToResume() const {
  uint64_t free_bytes = 0;
  if (!db_->GetEnv()->GetFreeSpace(dir_, &free_bytes).ok()) return true;  // unknown: try
  uint64_t memtables = 0;
  for (auto* handle : handles_) {
    uint64_t v = 0;
    if (db_->GetIntProperty(handle, rocksdb::DB::Properties::kCurSizeAllMemTables, &v)) {
      memtables += v;
    }
  }
  return free_bytes >= memtables + (1u << 20);
}

Status RocksDb::writeFailed(const rocksdb::Status& s, const std::string& hint) {
  if (s.IsCorruption()) {
    // Found by a flush or compaction reading a damaged file: RocksDB refuses writes from now on.
    health_.reportCorruption("found while writing: " + s.ToString());
    health_.reportWriteFailure(StorageHealth::WriteFault::kIoError, s.ToString() + hint);
    return unavailable("storage corruption: writing to " + dir_ + " failed: " + s.ToString() +
                       hint + " (this server is unhealthy; see docs/operations.md)");
  }
  bool full = s.IsNoSpace() || s.ToString().find("No space left") != std::string::npos;
  auto fault = full ? StorageHealth::WriteFault::kDiskFull : StorageHealth::WriteFault::kIoError;
  health_.reportWriteFailure(fault, s.ToString() + hint);
  return unavailable(std::string(writeFaultName(fault)) + ": writing to " + dir_ +
                     " failed: " + s.ToString() + hint);
}

void RocksDb::checkRead(const rocksdb::Status& s, std::string_view what) const {
  if (s.ok() || s.IsNotFound()) return;
  throw ReadError(readFailed(s, std::string(what)).message());
}

Status RocksDb::readFailed(const rocksdb::Status& s, const std::string& what) const {
  if (s.IsCorruption()) {
    health_.reportCorruption(what + ": " + s.ToString());
    return internalError("storage corruption " + what + ": " + s.ToString() +
                         " (this server is unhealthy; see docs/operations.md)");
  }
  return internalError("storage error " + what + ": " + s.ToString());
}

std::string encodeU64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t decodeU64(std::string_view bytes) {
  if (bytes.size() != 8) return 0;
  uint64_t v = 0;
  for (unsigned char c : bytes) v = (v << 8) | c;
  return v;
}

}  // namespace cairn::storage
