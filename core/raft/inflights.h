#pragma once
// Inflights: the AppendEntries a leader has sent to one follower and not yet seen acknowledged,
// bounded by a message count and a byte budget (the pipelining window).

#include <cstddef>
#include <cstdint>
#include <deque>

namespace cairn::raft {

class Inflights {
 public:
  Inflights(size_t max_count, uint64_t max_bytes) : max_count_(max_count), max_bytes_(max_bytes) {}

  // Records a message whose last entry is `last_index`, carrying `bytes` of entries.
  void add(uint64_t last_index, uint64_t bytes);
  // Frees every message whose last index is <= index (they are acknowledged).
  void freeLE(uint64_t index);
  void reset();
  // Frees the oldest message (used when a heartbeat response suggests appends were lost).
  void freeFirstOne() { freeLE(inflight_.empty() ? 0 : inflight_.front().index); }
  bool full() const { return inflight_.size() >= max_count_ || bytes_ >= max_bytes_; }
  size_t count() const { return inflight_.size(); }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Item {
    uint64_t index;
    uint64_t bytes;
  };
  size_t max_count_;
  uint64_t max_bytes_;
  std::deque<Item> inflight_;
  uint64_t bytes_ = 0;
};

}  // namespace cairn::raft
