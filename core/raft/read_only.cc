#include "core/raft/read_only.h"

#include <algorithm>

namespace cairn::raft {

void ReadOnly::add(uint64_t index, std::string context, uint64_t from) {
  // A request is confirmed only by a round broadcast after it arrived.
  queue_.push_back(Request{index, std::move(context), from, sent_seq_ + 1});
}

uint64_t ReadOnly::startRound() { return ++sent_seq_; }

std::vector<ReadOnly::Request> ReadOnly::confirm(uint64_t seq) {
  std::vector<Request> out;
  seq = std::min(seq, sent_seq_);
  if (seq <= confirmed_seq_) return out;
  confirmed_seq_ = seq;
  while (!queue_.empty() && queue_.front().seq <= seq) {
    out.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return out;
}

void ReadOnly::reset() {
  queue_.clear();
  sent_seq_ = 0;
  confirmed_seq_ = 0;
}

}  // namespace cairn::raft
