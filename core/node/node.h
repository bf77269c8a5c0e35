#pragma once
// Node: what the API layer needs from the replication layer. Writes are proposed and answered
// asynchronously once applied; reads ask for a barrier that makes the local state fresh enough for
// the requested consistency. Implementations: LocalNode (one server, no replication) and, with
// consensus, RaftNode.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "cairn/v1/commands.pb.h"
#include "core/base/status.h"
#include "core/store/kv_types.h"

namespace cairn::node {

enum class ReadMode { kDefault, kConsistent, kStale };

struct LeaderStatus {
  bool known_leader = false;
  uint64_t last_contact_ms = 0;     // 0 on the leader
  std::string leader_address;       // server RPC address "ip:port", empty if none
  std::vector<std::string> voters;  // server RPC addresses
};

struct ProposeResult {
  uint64_t index = 0;  // the log index the command was applied at
  store::TxnOutcome outcome;
};

using ProposeCallback = std::function<void(StatusOr<ProposeResult>)>;

class Node {
 public:
  virtual ~Node() = default;
  // Replicates and applies `command`. `done` runs exactly once, on an internal thread, after the
  // command is applied (or failed); it must not block. Never blocks the caller. Thread-safe.
  virtual void propose(v1::Command command, ProposeCallback done) = 0;
  // `done` runs (possibly at once, on this thread) when the local state may serve a read in `mode`,
  // or with an error (e.g. no leader). Thread-safe.
  virtual void readBarrier(ReadMode mode, std::function<void(Status)> done) = 0;
  virtual LeaderStatus leaderStatus() const = 0;
};

}  // namespace cairn::node
