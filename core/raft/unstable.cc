#include "core/raft/unstable.h"

#include "core/base/check.h"

namespace cairn::raft {

std::optional<uint64_t> Unstable::maybeFirstIndex() const {
  if (snapshot_) return snapshot_->metadata().index() + 1;
  return std::nullopt;
}

std::optional<uint64_t> Unstable::maybeLastIndex() const {
  if (!entries_.empty()) return offset_ + entries_.size() - 1;
  if (snapshot_) return snapshot_->metadata().index();
  return std::nullopt;
}

std::optional<uint64_t> Unstable::maybeTerm(uint64_t i) const {
  if (i < offset_) {
    if (snapshot_ && snapshot_->metadata().index() == i) return snapshot_->metadata().term();
    return std::nullopt;
  }
  auto last = maybeLastIndex();
  if (!last || i > *last) return std::nullopt;
  if (entries_.empty()) return snapshot_->metadata().term();  // i == snapshot index
  return entries_[i - offset_].term();
}

void Unstable::stableTo(uint64_t index, uint64_t term) {
  auto t = maybeTerm(index);
  if (!t || *t != term || index < offset_) return;
  // The entry at `index` is unchanged since it was handed out: everything up to it is durable.
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(index + 1 - offset_));
  offset_ = index + 1;
}

void Unstable::stableSnapTo(uint64_t index) {
  if (snapshot_ && snapshot_->metadata().index() == index) snapshot_.reset();
}

void Unstable::restore(const Snapshot& snap) {
  offset_ = snap.metadata().index() + 1;
  entries_.clear();
  snapshot_ = snap;
}

void Unstable::truncateAndAppend(const std::vector<Entry>& ents) {
  if (ents.empty()) return;
  uint64_t after = ents[0].index();
  if (after == offset_ + entries_.size()) {
    // directly after the current tail
  } else if (after <= offset_) {
    // Replaces the whole unstable tail (and shadows durable entries from `after` on).
    offset_ = after;
    entries_.clear();
  } else {
    entries_.resize(after - offset_);
  }
  entries_.insert(entries_.end(), ents.begin(), ents.end());
}

std::vector<Entry> Unstable::slice(uint64_t lo, uint64_t hi) const {
  CHECK(offset_ <= lo && lo <= hi && hi <= offset_ + entries_.size());
  return std::vector<Entry>(entries_.begin() + static_cast<std::ptrdiff_t>(lo - offset_),
                            entries_.begin() + static_cast<std::ptrdiff_t>(hi - offset_));
}

}  // namespace cairn::raft
