#pragma once
// MembershipMonitor: a server's part in membership without gossip (docs/agent.md, "Membership").
// On the leader it owns the LivenessTracker: heartbeats and leaves of client agents arrive here
// (directly, or relayed by followers through MembershipService), and every `period`, or at once
// when a heartbeat brings news, it proposes what the tracker decides — a member record alive with
// its node and a passing serfHealth check, failed with serfHealth critical (which invalidates the
// sessions bound to the node, as for servers), or reaped after 72 h. Followers only answer
// force-leave, which any server may propose.
//
// Threading: every public method is thread-safe. Rounds run on the injected Scheduler's thread;
// proposal results arrive on the Node's threads. `done` callbacks run on whichever thread the
// proposal completes on and must not block.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "core/base/status.h"
#include "core/health/scheduler.h"
#include "core/membership/liveness_tracker.h"
#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::membership {

struct MembershipMonitorOptions {
  std::chrono::milliseconds period{1000};
  LivenessOptions liveness;
};

// Everything outlives the monitor (stop() it first).
struct MembershipMonitorDeps {
  node::Node* node = nullptr;
  const store::StateStore* store = nullptr;
  health::Scheduler* scheduler = nullptr;
  // Wall-clock milliseconds since the epoch (member records' status times, the 72 h reaping).
  std::function<int64_t()> wall_now_ms;
};

class MembershipMonitor {
 public:
  MembershipMonitor(MembershipMonitorOptions options, MembershipMonitorDeps deps);
  ~MembershipMonitor();
  MembershipMonitor(const MembershipMonitor&) = delete;
  MembershipMonitor& operator=(const MembershipMonitor&) = delete;

  void start();
  // No round starts afterwards. Idempotent.
  void stop();

  // A heartbeat that reached the leader. kUnavailable when this server is not the leader (the
  // caller relays it) and kInvalidArgument for a heartbeat without a node name.
  Status heartbeat(const v1::ClientMember& member, const std::string& incarnation);
  // A graceful leave that reached the leader: marks the member left and deregisters its node;
  // `done` once committed (kUnavailable when not the leader).
  void leave(const std::string& name, const std::string& incarnation,
             std::function<void(Status)> done);
  // PUT /v1/agent/force-leave on any server: a client member is marked left (or its record
  // removed, `prune`) and its node deregistered. kNotFound for an unknown client member.
  void forceLeave(const std::string& name, bool prune, std::function<void(Status)> done);

  // The replicated view of every member record (for /v1/agent/members).
  std::vector<v1::MemberRecord> members() const;
  // options.liveness.client_timeout (told to clients in every heartbeat answer).
  std::chrono::milliseconds clientTimeout() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cairn::membership
