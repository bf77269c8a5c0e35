#pragma once
// RocksDb: the one RocksDB instance of an agent, with every column family Cairn uses (the state
// machine tables and the Raft log). They share one WAL: the state machine writes with sync=false,
// the Raft log with sync=true (which also makes earlier unsynced writes durable). Thread-safe as
// RocksDB is.

#include <rocksdb/db.h>

#include <memory>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::storage {

// Column families, by name. Keep this list the single place that names them.
inline constexpr const char* kMetaFamily = "meta";          // applied index, table indexes
inline constexpr const char* kKvFamily = "kv";              // key -> StoredKvEntry
inline constexpr const char* kTombstoneFamily = "kv_tombstones";  // key -> deletion index (8 bytes BE)
inline constexpr const char* kCatalogFamily = "catalog";  // nodes, services, checks, sessions,
                                                          // events (core/store/catalog_table.h)
inline constexpr const char* kLocalFamily = "local";  // this agent's own registry: not replicated
inline constexpr const char* kRaftLogFamily = "raft_log";        // encodeU64(index) -> RaftEntry
inline constexpr const char* kRaftStableFamily = "raft_stable";  // hard state, snapshot, named values

class RocksDb {
 public:
  // Opens (creating if needed) the database in `dir`; missing column families are created, so a
  // database written by an older version opens too.
  static StatusOr<std::unique_ptr<RocksDb>> open(const std::string& dir);
  ~RocksDb();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* family(const std::string& name) const;
  // Approximate bytes on disk (SST files) plus memtables.
  uint64_t approximateSizeBytes() const;

 private:
  RocksDb() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// Big-endian encoding keeps RocksDB's byte order equal to numeric order.
std::string encodeU64(uint64_t v);
uint64_t decodeU64(std::string_view bytes);  // 0 when `bytes` is not 8 bytes long.

}  // namespace cairn::storage
