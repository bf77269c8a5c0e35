#pragma once
// LocalPersistence: the local registry's records in RocksDB's "local" column family (not
// replicated, not in snapshots). Keys "svc/<id>" and "chk/<id>". Thread-safe as RocksDB is.

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/health/check_definition.h"
#include "core/storage/rocks_db.h"
#include "local_state.pb.h"

namespace cairn::local {

localstore::StoredCheckDefinition storedDefinition(const health::CheckDefinition& d);
health::CheckDefinition definitionOf(const localstore::StoredCheckDefinition& s);

class LocalPersistence {
 public:
  // `db` may be null: nothing is stored (tests, or an agent without a data dir). It outlives this.
  explicit LocalPersistence(storage::RocksDb* db) : db_(db) {}

  struct Loaded {
    std::vector<localstore::StoredLocalService> services;
    std::vector<localstore::StoredLocalCheck> checks;
  };
  // Every stored record; a record that does not parse is skipped with a warning.
  StatusOr<Loaded> load() const;

  // Writes are synced when `sync` (registrations); status updates need not be.
  Status putService(const localstore::StoredLocalService& s, bool sync);
  Status putCheck(const localstore::StoredLocalCheck& c, bool sync);
  Status eraseService(const std::string& id);
  Status eraseCheck(const std::string& id);

 private:
  Status put(const std::string& key, const std::string& value, bool sync);
  Status erase(const std::string& key);

  storage::RocksDb* db_;
};

}  // namespace cairn::local
