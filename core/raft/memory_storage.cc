#include "core/raft/memory_storage.h"

#include "core/base/check.h"

namespace cairn::raft {

MemoryStorage::MemoryStorage(ConfState bootstrap) {
  *snapshot_.mutable_metadata()->mutable_conf_state() = std::move(bootstrap);
  ents_.emplace_back();  // dummy at index 0, term 0
}

InitialState MemoryStorage::initialState() const {
  return InitialState{hard_state_, snapshot_.metadata().conf_state()};
}

uint64_t MemoryStorage::firstIndex() const { return ents_[0].index() + 1; }

uint64_t MemoryStorage::lastIndex() const { return ents_[0].index() + ents_.size() - 1; }

std::optional<uint64_t> MemoryStorage::term(uint64_t i) const {
  uint64_t offset = ents_[0].index();
  if (i < offset || i > lastIndex()) return std::nullopt;
  return ents_[i - offset].term();
}

std::vector<Entry> MemoryStorage::entries(uint64_t lo, uint64_t hi, uint64_t max_bytes) const {
  CHECK(lo >= firstIndex() && lo < hi && hi <= lastIndex() + 1);
  uint64_t offset = ents_[0].index();
  std::vector<Entry> out;
  uint64_t bytes = 0;
  for (uint64_t i = lo; i < hi; ++i) {
    const Entry& e = ents_[i - offset];
    bytes += entrySize(e);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(e);
  }
  return out;
}

StatusOr<Snapshot> MemoryStorage::snapshot() const { return snapshot_; }

void MemoryStorage::append(const std::vector<Entry>& entries) {
  if (entries.empty()) return;
  uint64_t first = firstIndex();
  uint64_t last = entries.back().index();
  if (last < first) return;  // all compacted
  size_t skip = entries[0].index() < first ? first - entries[0].index() : 0;
  uint64_t start = entries[skip].index();
  CHECK_MSG(start <= lastIndex() + 1, "MemoryStorage::append leaves a gap");
  ents_.resize(start - ents_[0].index());
  ents_.insert(ents_.end(), entries.begin() + static_cast<std::ptrdiff_t>(skip), entries.end());
}

void MemoryStorage::applySnapshot(const Snapshot& snap) {
  if (snap.metadata().index() < snapshot_.metadata().index()) return;
  snapshot_ = snap;
  ents_.clear();
  Entry dummy;
  dummy.set_index(snap.metadata().index());
  dummy.set_term(snap.metadata().term());
  ents_.push_back(std::move(dummy));
}

Status MemoryStorage::createSnapshot(uint64_t index, const ConfState& cs, std::string data) {
  if (index <= snapshot_.metadata().index()) return conflict("snapshot out of date");
  if (index > lastIndex()) return invalidArgument("snapshot index beyond last index");
  auto t = term(index);
  if (!t) return invalidArgument("snapshot index compacted");
  SnapshotMetadata* md = snapshot_.mutable_metadata();
  md->set_index(index);
  md->set_term(*t);
  *md->mutable_conf_state() = cs;
  snapshot_.set_data(std::move(data));
  return Status::ok();
}

Status MemoryStorage::compact(uint64_t index) {
  uint64_t offset = ents_[0].index();
  if (index <= offset) return conflict("already compacted");
  if (index > snapshot_.metadata().index()) return invalidArgument("compact beyond snapshot");
  ents_.erase(ents_.begin(), ents_.begin() + static_cast<std::ptrdiff_t>(index - offset));
  ents_[0].clear_data();
  ents_[0].set_type(v1::ENTRY_EMPTY);
  return Status::ok();
}

}  // namespace cairn::raft
