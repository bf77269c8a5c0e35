#pragma once
// RaftLog: the log as raft sees it — durable entries in Storage followed by the Unstable tail —
// plus the commit and applied indexes. Invariant: applied <= committed <= lastIndex().

#include <optional>
#include <vector>

#include "core/raft/storage.h"
#include "core/raft/unstable.h"

namespace cairn::raft {

class RaftLog {
 public:
  explicit RaftLog(const Storage* storage);

  uint64_t firstIndex() const;
  uint64_t lastIndex() const;
  uint64_t lastTerm() const;
  // The term of entry i, or nullopt if i is compacted or beyond the last index. term(0) == 0.
  std::optional<uint64_t> term(uint64_t i) const;
  bool matchTerm(uint64_t i, uint64_t t) const { return term(i) == t; }
  // §5.4.1: a log with (last_term, last_index) is at least as up-to-date as ours.
  bool isUpToDate(uint64_t last_index, uint64_t last_term) const;

  // AppendEntries on a follower: if entry prev_index has prev_term, appends `ents` (truncating a
  // conflicting suffix) and returns the index of the last entry the message vouches for.
  std::optional<uint64_t> maybeAppend(uint64_t prev_index, uint64_t prev_term, uint64_t commit,
                                      const std::vector<Entry>& ents);
  // Appends on the leader; returns the new last index.
  uint64_t append(const std::vector<Entry>& ents);
  // The first index among `ents` whose term differs from ours (0 if none).
  uint64_t findConflict(const std::vector<Entry>& ents) const;
  // The largest index <= index whose term is <= term (fast backtracking, etcd's
  // findConflictByTerm).
  uint64_t findConflictByTerm(uint64_t index, uint64_t term) const;

  // Entries in [lo, hi) bounded by max_bytes (at least one). Precondition: firstIndex() <= lo.
  std::vector<Entry> slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const;
  std::vector<Entry> entriesFrom(uint64_t lo, uint64_t max_bytes) const;

  void commitTo(uint64_t index);
  // Leader commit: commit `index` if it is of term `term` (§5.4.2: only current-term entries by
  // counting). Returns whether the commit index moved.
  bool maybeCommit(uint64_t index, uint64_t term);
  void appliedTo(uint64_t index);
  // Committed entries not yet handed to the application, up to max_bytes.
  std::vector<Entry> nextCommittedEntries(uint64_t max_bytes) const;
  bool hasNextCommittedEntries() const;
  void stableTo(uint64_t index, uint64_t term) { unstable_.stableTo(index, term); }
  void stableSnapTo(uint64_t index) { unstable_.stableSnapTo(index); }
  void restore(const Snapshot& snap);

  uint64_t committed() const { return committed_; }
  uint64_t applied() const { return applied_; }
  // Entries handed out for applying but not yet reported applied (see RawNode::advance).
  uint64_t applying() const { return applying_; }
  void acceptApplying(uint64_t index) { applying_ = index; }
  const Unstable& unstable() const { return unstable_; }
  const Storage& storage() const { return *storage_; }

  // Restart: all of storage is durable; commit from the persisted HardState.
  void initCommitted(uint64_t commit, uint64_t applied);

 private:
  const Storage* storage_;
  Unstable unstable_;
  uint64_t committed_ = 0;
  uint64_t applying_ = 0;  // highest index handed out in a Ready for applying
  uint64_t applied_ = 0;
};

}  // namespace cairn::raft
