#pragma once
// MemoryStorage: the in-memory twin of the durable log (used by tests, the simulator and the
// single-process dev mode). Everything written here counts as durable; the simulator models
// unsynced writes by holding them back until their simulated fsync completes.

#include <vector>

#include "core/raft/storage.h"

namespace cairn::raft {

class MemoryStorage final : public Storage {
 public:
  // An empty log with the given bootstrap membership (a snapshot at index 0, term 0).
  explicit MemoryStorage(ConfState bootstrap = {});

  InitialState initialState() const override;
  std::vector<Entry> entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const override;
  std::optional<uint64_t> term(uint64_t i) const override;
  uint64_t firstIndex() const override;
  uint64_t lastIndex() const override;
  StatusOr<Snapshot> snapshot() const override;

  void setHardState(const HardState& hs) { hard_state_ = hs; }
  const HardState& hardState() const { return hard_state_; }
  // Appends entries, first discarding any existing entries at or after entries[0].index().
  // Precondition: entries are contiguous and entries[0].index() <= lastIndex() + 1; entries at or
  // below the snapshot index are ignored.
  void append(const std::vector<Entry>& entries);
  // Replaces the whole log by a snapshot received from the leader. Ignored if older than ours.
  void applySnapshot(const Snapshot& snap);
  // Records the application's snapshot at `index` (<= lastIndex()); does not compact.
  Status createSnapshot(uint64_t index, const ConfState& cs, std::string data);
  // Drops entries up to and including `index` (<= the snapshot index).
  Status compact(uint64_t index);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // ents_[0] is a dummy entry carrying the snapshot's index and term.
  std::vector<Entry> ents_;
};

}  // namespace cairn::raft
