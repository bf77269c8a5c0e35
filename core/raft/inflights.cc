#include "core/raft/inflights.h"

#include "core/base/check.h"

namespace cairn::raft {

void Inflights::add(uint64_t last_index, uint64_t bytes) {
  CHECK_MSG(inflight_.size() < max_count_, "Inflights::add when full");
  ASSERT(inflight_.empty() || inflight_.back().index < last_index);
  inflight_.push_back({last_index, bytes});
  bytes_ += bytes;
}

void Inflights::freeLE(uint64_t index) {
  while (!inflight_.empty() && inflight_.front().index <= index) {
    bytes_ -= inflight_.front().bytes;
    inflight_.pop_front();
  }
}

void Inflights::reset() {
  inflight_.clear();
  bytes_ = 0;
}

}  // namespace cairn::raft
