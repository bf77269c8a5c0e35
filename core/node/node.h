#pragma once
// Node: what the API layer needs from the replication layer. Writes are proposed and answered
// asynchronously once applied; reads ask for a barrier that makes the local state fresh enough for
// the requested consistency. Implementation: RaftNode (raft_node.h);
// tests use scripted fakes.

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
  std::string leader_http_address;  // the leader's HTTP API "ip:port", empty if unknown
};

struct ProposeResult {
  uint64_t index = 0;  // the log index the command was applied at
  store::TxnOutcome outcome;
};

using ProposeCallback = std::function<void(StatusOr<ProposeResult>)>;

// One server of the Raft configuration, as /v1/operator/raft/configuration shows it.
struct RaftServer {
  std::string id;       // the server's node ID (UUID)
  std::string node;     // node name
  std::string address;  // RPC address "ip:port"
  bool leader = false;
  bool voter = false;
  uint64_t last_index = 0;  // the last log index this server is known to hold
};

struct RaftConfiguration {
  std::vector<RaftServer> servers;
  uint64_t index = 0;  // log index of the configuration in effect
};

// What autopilot reports per server (/v1/operator/autopilot/health).
struct ServerHealth {
  RaftServer server;
  bool healthy = false;          // voter or learner that is caught up and recently heard from
  uint64_t last_contact_ms = 0;  // since the leader last heard from it (0 for the leader)
  uint64_t last_term = 0;
  uint64_t last_index = 0;  // its match index as the leader knows it
  bool heard_from = false;  // the leader has heard from it since it took office (or self)
};

struct AutopilotHealth {
  bool healthy = false;  // every server healthy
  int failure_tolerance = 0;
  std::vector<ServerHealth> servers;
};

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
  // True while this server is the Raft leader (as last published by the loop). Thread-safe.
  virtual bool isLeader() const = 0;

  // Operator surface. Thread-safe; `done` runs once, possibly on an internal thread.
  virtual RaftConfiguration raftConfiguration() const = 0;
  // Removes the server with this node ID or RPC address from the configuration (leader only;
  // followers answer kUnavailable with the leader's address in the message).
  virtual void removePeer(const std::string& id_or_address, std::function<void(Status)> done) = 0;
  // Hands leadership to `target_id` (a node ID), or to the most caught-up voter when empty.
  virtual void transferLeadership(const std::string& target_id,
                                  std::function<void(Status)> done) = 0;
  // kUnavailable when this server does not know the leader's view (not leader, or no leader).
  virtual StatusOr<AutopilotHealth> autopilotHealth() const = 0;
};

}  // namespace cairn::node
