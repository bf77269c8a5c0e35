#pragma once
// Unstable: the tail of the log (and possibly an incoming snapshot) that raft holds in memory until
// the application reports it durable through RawNode::advance().

#include <optional>
#include <vector>

#include "core/raft/types.h"

namespace cairn::raft {

class Unstable {
 public:
  explicit Unstable(uint64_t offset) : offset_(offset) {}

  // The first index an unstable entry may have, if a snapshot is pending.
  std::optional<uint64_t> maybeFirstIndex() const;
  std::optional<uint64_t> maybeLastIndex() const;
  std::optional<uint64_t> maybeTerm(uint64_t i) const;

  // Entries [offset, stable_to] with term matching are durable now: forget them.
  void stableTo(uint64_t index, uint64_t term);
  void stableSnapTo(uint64_t index);
  void restore(const Snapshot& snap);
  // Appends, replacing any existing entries at or after entries[0].index().
  void truncateAndAppend(const std::vector<Entry>& entries);
  // Entries in [lo, hi); precondition offset <= lo <= hi <= offset + size.
  std::vector<Entry> slice(uint64_t lo, uint64_t hi) const;

  uint64_t offset() const { return offset_; }
  const std::vector<Entry>& entries() const { return entries_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }

 private:
  std::optional<Snapshot> snapshot_;
  std::vector<Entry> entries_;
  uint64_t offset_;  // the index of entries_[0]
};

}  // namespace cairn::raft
