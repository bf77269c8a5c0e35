#include "core/raft/raft_log.h"

#include <algorithm>
#include <limits>

#include "core/base/check.h"

namespace cairn::raft {

RaftLog::RaftLog(const Storage* storage) : storage_(storage), unstable_(storage->lastIndex() + 1) {
  committed_ = storage->firstIndex() - 1;
  applied_ = committed_;
  applying_ = committed_;
}

void RaftLog::initCommitted(uint64_t commit, uint64_t applied) {
  CHECK_MSG(commit <= lastIndex(), "persisted commit index beyond the durable log");
  committed_ = std::max(committed_, commit);
  uint64_t a = std::max(applied, firstIndex() - 1);
  CHECK(a <= committed_);
  applied_ = a;
  applying_ = a;
}

uint64_t RaftLog::firstIndex() const {
  if (auto i = unstable_.maybeFirstIndex()) return *i;
  return storage_->firstIndex();
}

uint64_t RaftLog::lastIndex() const {
  if (auto i = unstable_.maybeLastIndex()) return *i;
  return storage_->lastIndex();
}

uint64_t RaftLog::lastTerm() const {
  auto t = term(lastIndex());
  CHECK_MSG(t.has_value(), "term of the last index is unavailable");
  return *t;
}

std::optional<uint64_t> RaftLog::term(uint64_t i) const {
  uint64_t dummy = firstIndex() - 1;
  if (i < dummy || i > lastIndex()) return std::nullopt;
  if (auto t = unstable_.maybeTerm(i)) return t;
  return storage_->term(i);
}

bool RaftLog::isUpToDate(uint64_t last_index, uint64_t last_term) const {
  uint64_t lt = lastTerm();
  return last_term > lt || (last_term == lt && last_index >= lastIndex());
}

uint64_t RaftLog::findConflict(const std::vector<Entry>& ents) const {
  for (const Entry& e : ents) {
    if (!matchTerm(e.index(), e.term())) return e.index();
  }
  return 0;
}

uint64_t RaftLog::findConflictByTerm(uint64_t index, uint64_t t) const {
  index = std::min(index, lastIndex());
  while (true) {
    auto our = term(index);
    if (!our || *our <= t) return index;  // compacted: the caller probes from here
    if (index == 0) return 0;
    --index;
  }
}

std::optional<uint64_t> RaftLog::maybeAppend(uint64_t prev_index, uint64_t prev_term,
                                             uint64_t commit, const std::vector<Entry>& ents) {
  if (!matchTerm(prev_index, prev_term)) return std::nullopt;
  uint64_t last_new = prev_index + ents.size();
  uint64_t ci = findConflict(ents);
  if (ci != 0) {
    CHECK_MSG(ci > committed_, "conflicting entry at or below the commit index");
    size_t from = ci - (prev_index + 1);
    append(std::vector<Entry>(ents.begin() + static_cast<std::ptrdiff_t>(from), ents.end()));
  }
  commitTo(std::min(commit, last_new));
  return last_new;
}

uint64_t RaftLog::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return lastIndex();
  CHECK_MSG(ents[0].index() > committed_, "append would truncate committed entries");
  unstable_.truncateAndAppend(ents);
  return lastIndex();
}

std::vector<Entry> RaftLog::slice(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  CHECK(lo >= firstIndex() && lo <= hi && hi <= lastIndex() + 1);
  std::vector<Entry> out;
  if (lo == hi) return out;
  uint64_t uoff = unstable_.offset();
  if (lo < uoff) {
    out = storage_->entries(lo, std::min(hi, uoff), max_bytes);
    if (out.size() < std::min(hi, uoff) - lo) return out;  // cut by max_bytes
  }
  if (hi > uoff) {
    uint64_t bytes = 0;
    for (const Entry& e : out) bytes += entrySize(e);
    for (const Entry& e : unstable_.slice(std::max(lo, uoff), hi)) {
      bytes += entrySize(e);
      if (!out.empty() && bytes > max_bytes) break;
      out.push_back(e);
    }
  }
  return out;
}

std::vector<Entry> RaftLog::entriesFrom(uint64_t lo, uint64_t max_bytes) const {
  if (lo > lastIndex()) return {};
  return slice(lo, lastIndex() + 1, max_bytes);
}

void RaftLog::commitTo(uint64_t index) {
  if (index <= committed_) return;
  CHECK_MSG(index <= lastIndex(), "commit index beyond the last index");
  committed_ = index;
}

bool RaftLog::maybeCommit(uint64_t index, uint64_t t) {
  if (index > committed_ && term(index) == t) {
    commitTo(index);
    return true;
  }
  return false;
}

void RaftLog::appliedTo(uint64_t index) {
  if (index == 0) return;
  CHECK(index <= committed_ && index >= applied_);
  applied_ = index;
  applying_ = std::max(applying_, index);
}

bool RaftLog::hasNextCommittedEntries() const {
  uint64_t lo = std::max(applying_ + 1, firstIndex());
  return committed_ + 1 > lo;
}

std::vector<Entry> RaftLog::nextCommittedEntries(uint64_t max_bytes) const {
  uint64_t lo = std::max(applying_ + 1, firstIndex());
  if (committed_ + 1 <= lo) return {};
  return slice(lo, committed_ + 1, max_bytes);
}

void RaftLog::restore(const Snapshot& snap) {
  committed_ = snap.metadata().index();
  unstable_.restore(snap);
}

}  // namespace cairn::raft
