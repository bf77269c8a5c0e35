#pragma once
// ProgressTracker: the membership in effect (voters, learners), the leader's per-peer Progress,
// the votes of the current election, and the majority computations over them. Single-server
// membership changes only (thesis §4.1): every quorum is a majority of one voter set.

#include <functional>
#include <map>
#include <set>

#include "core/raft/progress.h"
#include "core/raft/types.h"

namespace cairn::raft {

enum class VoteResult { kPending, kWon, kLost };

class ProgressTracker {
 public:
  ProgressTracker(size_t max_inflight, uint64_t max_inflight_bytes)
      : max_inflight_(max_inflight), max_inflight_bytes_(max_inflight_bytes) {}

  // Replaces the membership; keeps the Progress of members that stay, creates the others with
  // next = next_index.
  void setConfig(const ConfState& cs, uint64_t next_index);
  ConfState confState() const;
  const std::set<uint64_t>& voters() const { return voters_; }
  const std::set<uint64_t>& learners() const { return learners_; }
  bool isVoter(uint64_t id) const { return voters_.count(id) > 0; }
  bool isMember(uint64_t id) const { return progress_.count(id) > 0; }
  size_t quorum() const { return voters_.size() / 2 + 1; }

  Progress* progress(uint64_t id);
  std::map<uint64_t, Progress>& all() { return progress_; }
  const std::map<uint64_t, Progress>& all() const { return progress_; }
  void resetAll(uint64_t next_index);

  // The largest index replicated (match) on a majority of voters. 0 with no voters.
  uint64_t committedIndex() const;
  // The majority-th largest of f(progress) over voters.
  uint64_t quorumValue(const std::function<uint64_t(uint64_t, const Progress&)>& f) const;

  void resetVotes() { votes_.clear(); }
  void recordVote(uint64_t id, bool granted) { votes_.emplace(id, granted); }
  VoteResult tallyVotes(size_t* granted = nullptr, size_t* rejected = nullptr) const;

  // Whether a majority of voters (counting `self`) were recently active; clears the flags.
  bool quorumActive(uint64_t self);

 private:
  size_t max_inflight_;
  uint64_t max_inflight_bytes_;
  std::set<uint64_t> voters_;
  std::set<uint64_t> learners_;
  std::map<uint64_t, Progress> progress_;
  std::map<uint64_t, bool> votes_;
};

}  // namespace cairn::raft
