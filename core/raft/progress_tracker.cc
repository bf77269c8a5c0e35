#include "core/raft/progress_tracker.h"

#include <algorithm>
#include <vector>

#include "core/base/check.h"

namespace cairn::raft {

void ProgressTracker::setConfig(const ConfState& cs, uint64_t next_index) {
  std::set<uint64_t> voters(cs.voters().begin(), cs.voters().end());
  std::set<uint64_t> learners(cs.learners().begin(), cs.learners().end());
  for (uint64_t id : learners) CHECK_MSG(!voters.count(id), "a node is both voter and learner");
  for (auto it = progress_.begin(); it != progress_.end();) {
    bool keep = voters.count(it->first) || learners.count(it->first);
    it = keep ? std::next(it) : progress_.erase(it);
  }
  auto ensure = [&](uint64_t id, bool learner) {
    auto it = progress_.find(id);
    if (it == progress_.end()) {
      it = progress_.emplace(id, Progress(next_index, max_inflight_, max_inflight_bytes_, learner))
               .first;
      // A new member counts as active so that adding it does not trip check-quorum at once.
      it->second.recent_active = true;
    }
    it->second.is_learner = learner;
  };
  for (uint64_t id : voters) ensure(id, false);
  for (uint64_t id : learners) ensure(id, true);
  voters_ = std::move(voters);
  learners_ = std::move(learners);
}

ConfState ProgressTracker::confState() const {
  ConfState cs;
  for (uint64_t id : voters_) cs.add_voters(id);
  for (uint64_t id : learners_) cs.add_learners(id);
  return cs;
}

Progress* ProgressTracker::progress(uint64_t id) {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

void ProgressTracker::resetAll(uint64_t next_index) {
  for (auto& [id, pr] : progress_) {
    bool learner = pr.is_learner;
    pr = Progress(next_index, max_inflight_, max_inflight_bytes_, learner);
  }
}

uint64_t ProgressTracker::quorumValue(
    const std::function<uint64_t(uint64_t, const Progress&)>& f) const {
  if (voters_.empty()) return 0;
  std::vector<uint64_t> vals;
  vals.reserve(voters_.size());
  for (uint64_t id : voters_) vals.push_back(f(id, progress_.at(id)));
  std::sort(vals.begin(), vals.end(), std::greater<>());
  return vals[quorum() - 1];
}

uint64_t ProgressTracker::committedIndex() const {
  return quorumValue([](uint64_t, const Progress& p) { return p.match; });
}

VoteResult ProgressTracker::tallyVotes(size_t* granted, size_t* rejected) const {
  size_t yes = 0, no = 0;
  for (uint64_t id : voters_) {
    auto it = votes_.find(id);
    if (it == votes_.end()) continue;
    (it->second ? yes : no)++;
  }
  if (granted) *granted = yes;
  if (rejected) *rejected = no;
  if (voters_.empty()) return VoteResult::kLost;
  if (yes >= quorum()) return VoteResult::kWon;
  if (no > voters_.size() - quorum()) return VoteResult::kLost;
  return VoteResult::kPending;
}

bool ProgressTracker::quorumActive(uint64_t self) {
  size_t active = 0;
  for (auto& [id, pr] : progress_) {
    if (id == self) pr.recent_active = true;
    if (pr.recent_active && voters_.count(id)) ++active;
    pr.recent_active = id == self;
  }
  return active >= quorum();
}

}  // namespace cairn::raft
