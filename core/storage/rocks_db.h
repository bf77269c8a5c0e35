#pragma once
// RocksDb: the one RocksDB instance of an agent, with every column family Cairn uses (the state
// machine tables and the Raft log). They share one WAL: the state machine writes with sync=false,
// the Raft log with sync=true (which also makes earlier unsynced writes durable). Thread-safe as
// RocksDB is.

#include <rocksdb/db.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"
#include "core/storage/storage_health.h"

namespace cairn::storage {

// Column families, by name. Keep this list the single place that names them.
inline constexpr const char* kMetaFamily = "meta";  // applied index, table indexes
inline constexpr const char* kKvFamily = "kv";      // key -> StoredKvEntry
inline constexpr const char* kTombstoneFamily =
    "kv_tombstones";                                      // key -> deletion index (8 bytes BE)
inline constexpr const char* kCatalogFamily = "catalog";  // nodes, services, checks, sessions,
                                                          // events (core/store/catalog_table.h)
inline constexpr const char* kLocalFamily = "local";  // this agent's own registry: not replicated
inline constexpr const char* kRaftLogFamily = "raft_log";  // encodeU64(index) -> RaftEntry
inline constexpr const char* kRaftStableFamily =
    "raft_stable";  // hard state, snapshot, named values

// Thrown by reads of the state store when RocksDB reports corruption (a checksum mismatch in an
// SST block) or an I/O error. The one exception that crosses module boundaries: every read result
// type would otherwise need an error field. serveRead (core/http/read_query.cc) answers it with a
// 500; the damage is also recorded in StorageHealth, so the agent reports itself unhealthy.
class ReadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class RocksDb {
 public:
  // Opens (creating if needed) the database in `dir`; missing column families are created, so a
  // database written by an older version opens too. `env` (tests: fault injection) defaults to
  // RocksDB's default Env and must outlive the database. With `must_exist` (the data dir already
  // has an identity), a missing database is not created: it is reported as damage ("data dir
  // damaged: ..."), since an empty database under an old identity would forget the log and the
  // vote. A database RocksDB finds corrupt is reported the same way.
  static StatusOr<std::unique_ptr<RocksDb>> open(const std::string& dir,
                                                 rocksdb::Env* env = nullptr,
                                                 bool must_exist = false);
  ~RocksDb();

  rocksdb::DB* db() const { return db_.get(); }
  const std::string& dir() const { return dir_; }
  StorageHealth& health() const { return health_; }

  // Every write of the agent goes through here. A failure is returned (never fatal) and recorded
  // in health(): "disk full: ..." for ENOSPC, "storage I/O error: ..." otherwise; RocksDB then
  // refuses every write until it is resumed. While a fault is recorded, each call first asks
  // RocksDB to resume (which succeeds once space is back), so writes resume by themselves.
  // A failed write changed nothing: RocksDB applies a batch to its memtables only after the WAL
  // write succeeded.
  Status write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch);
  // Makes earlier unsynced writes durable; failures as write().
  Status syncWal();
  // Turns a failed read into a Status; corruption (a checksum mismatch, a damaged block) is also
  // recorded in health() with `what` (e.g. "reading key foo"), so the agent reports itself
  // unhealthy. NotFound is not an error here: callers test it first.
  Status readFailed(const rocksdb::Status& s, const std::string& what) const;
  // Throws ReadError (recording corruption as readFailed does) unless `s` is OK or NotFound.
  void checkRead(const rocksdb::Status& s, std::string_view what) const;
  rocksdb::ColumnFamilyHandle* family(const std::string& name) const;
  // Flushes every memtable to SST files (clean shutdown: the next start replays no WAL).
  Status flush();
  // Approximate bytes on disk (SST files) plus memtables.
  uint64_t approximateSizeBytes() const;

 private:
  explicit RocksDb(std::string dir) : dir_(std::move(dir)), health_(dir_) {}
  Status writeFailed(const rocksdb::Status& s, const std::string& hint = "");
  Status resumeAfterFault();
  bool hasRoomToResume() const;

  std::string dir_;
  mutable StorageHealth health_;  // internally synchronized
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Big-endian encoding keeps RocksDB's byte order equal to numeric order.
std::string encodeU64(uint64_t v);
uint64_t decodeU64(std::string_view bytes);  // 0 when `bytes` is not 8 bytes long.

}  // namespace cairn::storage
