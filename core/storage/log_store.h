#pragma once
// LogStore: the durable side of Raft — the log, the hard state, the latest snapshot, and a few
// stable values (raft id, cluster id, the server address book). Raft reads it through
// raft::Storage; the node writes it following the Ready contract (docs/raft.md).
// Not thread-safe: used only by the node's Ready loop thread (stable values: any thread after
// open, before the loop starts, or from the loop).

#include <optional>
#include <string>
#include <vector>

#include "core/raft/storage.h"

namespace cairn::storage {

class LogStore : public raft::Storage {
 public:
  // Step 1 of the Ready contract as ONE atomic write: `snapshot` (if any) replaces the whole log,
  // then `entries` are appended after discarding stored entries at or after the first one's
  // index, then `hard_state` (if any). With `sync`, durable (fsync) before returning. A failed
  // write (disk full, I/O error) is returned and changed nothing, neither on disk nor in what
  // this store answers; the caller retries later and must not act as if it were durable.
  virtual Status persist(const std::optional<raft::Snapshot>& snapshot,
                         const std::vector<raft::Entry>& entries,
                         const std::optional<raft::HardState>& hard_state, bool sync) = 0;

  // Records a snapshot the application produced at snapshot.metadata().index (<= lastIndex()),
  // then drops log entries up to index - retain (keeping `retain` entries for slow followers).
  // A failed write is returned and changed nothing.
  virtual Status saveSnapshot(const raft::Snapshot& snapshot, uint64_t retain) = 0;

  // Small durable values by name (e.g. "cluster_id"); set is synced, a failure returned.
  virtual std::optional<std::string> stable(const std::string& name) const = 0;
  virtual Status setStable(const std::string& name, const std::string& value) = 0;

  // Whether the log has ever been written (hard state, entries or snapshot): false on a fresh
  // data dir that still has to bootstrap or join.
  virtual bool hasState() const = 0;
};

}  // namespace cairn::storage
