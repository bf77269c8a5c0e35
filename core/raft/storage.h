#pragma once
// Storage: raft's read-only view of the node's durable log (the application writes it, following
// the Ready contract; see docs/raft.md). Raft only reads entries it has been told are durable
// (those handed out in a Ready that was advanced), so implementations never see a read past what
// they persisted. Not thread-safe: called only from the thread that drives the RawNode.

#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/status.h"
#include "core/raft/types.h"

namespace cairn::raft {

struct InitialState {
  HardState hard_state;
  // Membership as of the latest snapshot (or the bootstrap configuration). Configuration changes
  // in log entries after it are replayed by raft on start-up (they take effect when appended).
  ConfState conf_state;
};

class Storage {
 public:
  virtual ~Storage() = default;

  virtual InitialState initialState() const = 0;
  // Entries in [lo, hi), stopping early once their total size would exceed max_bytes (but always at
  // least one entry). Precondition: firstIndex() <= lo < hi <= lastIndex() + 1.
  virtual std::vector<Entry> entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const = 0;
  // The term of entry i for firstIndex()-1 <= i <= lastIndex() (firstIndex()-1 is the snapshot's
  // index); nullopt outside that range (compacted or not yet written).
  virtual std::optional<uint64_t> term(uint64_t i) const = 0;
  // The index of the first entry still in the log (snapshot index + 1).
  virtual uint64_t firstIndex() const = 0;
  virtual uint64_t lastIndex() const = 0;
  // The most recent snapshot; kUnavailable while the application is still producing one.
  virtual StatusOr<Snapshot> snapshot() const = 0;
};

}  // namespace cairn::raft
