#pragma once
// ReadOnly: the leader's queue of ReadIndex requests (thesis §6.4). Requests are grouped into
// rounds: a round is one heartbeat broadcast tagged with a sequence number, and a request may be
// answered once a majority of voters acknowledged a round started after the request arrived — so
// one heartbeat round confirms leadership for every request waiting on it.

#include <deque>
#include <string>
#include <vector>

#include "core/raft/types.h"

namespace cairn::raft {

class ReadOnly {
 public:
  struct Request {
    uint64_t index;       // the commit index when the request arrived
    std::string context;  // the caller's request id
    uint64_t from;        // the node that asked (the leader itself for local requests)
    uint64_t seq;         // the round that confirms it
  };

  void add(uint64_t index, std::string context, uint64_t from);
  // Whether some request waits for a round that has not been broadcast yet.
  bool needsRound() const { return !queue_.empty() && queue_.back().seq > sent_seq_; }
  // Whether a broadcast round is still unconfirmed.
  bool roundInFlight() const { return confirmed_seq_ < sent_seq_; }
  // Starts the next round; returns its sequence number to put on the heartbeats.
  uint64_t startRound();
  uint64_t sentSeq() const { return sent_seq_; }
  // Round `seq` is confirmed by a majority: returns the requests it answers, oldest first.
  std::vector<Request> confirm(uint64_t seq);
  size_t pending() const { return queue_.size(); }
  void reset();

 private:
  std::deque<Request> queue_;
  uint64_t sent_seq_ = 0;
  uint64_t confirmed_seq_ = 0;
};

}  // namespace cairn::raft
