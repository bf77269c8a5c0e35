#pragma once
// LivenessTracker: the leader's failure detector for client agents (Cairn has no gossip: a client
// is alive while its heartbeats arrive; docs/agent.md, "Membership"). Pure logic: no I/O, no
// clock of its own, no locking. The caller (MembershipMonitor) feeds it heartbeats, leaves and
// what the replicated state says about each member, with the current time, and proposes the
// actions evaluate() returns through Raft.
//
// Rules:
// - A member heard from within `client_timeout` must be alive in the replicated state: member
//   record alive with the reported fields, node registered, serfHealth passing. Otherwise:
//   kMarkAlive.
// - A member alive in the replicated state that was not heard from within `client_timeout`:
//   kMarkFailed. A leader that just took office has heard from nobody: it counts every member as
//   last seen when it started leading (the grace period), so members get a full timeout to reach
//   the new leader.
// - A heartbeat of an incarnation that has left is ignored (a late relay must not undo a leave).
// - Left and failed records older than `reap_after` (wall clock): kReap.
// Not thread-safe: one owner serialises the calls.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "core/base/clock.h"

namespace cairn::membership {

struct LivenessOptions {
  std::chrono::milliseconds client_timeout{10000};
  std::chrono::hours reap_after{72};
};

// What the replicated state holds about one member.
struct MemberView {
  v1::MemberRecord record;
  bool node_registered = false;
  std::string serf_health;  // the serfHealth check's status, "" when missing
};

enum class ActionKind { kMarkAlive, kMarkFailed, kReap };

struct Action {
  ActionKind kind;
  std::string name;
  v1::ClientMember member;  // kMarkAlive: as last reported; otherwise the record's
  bool operator==(const Action& o) const;
};

class LivenessTracker {
 public:
  explicit LivenessTracker(LivenessOptions options) : options_(options) {}

  // Leadership begins (the grace period starts now) or ends (everything is forgotten: the next
  // leader keeps its own times).
  void startLeading(SteadyTime now);
  void stopLeading();
  bool leading() const { return leading_since_.has_value(); }

  // Returns false when the heartbeat is ignored (not leading, or its incarnation left).
  bool onHeartbeat(const v1::ClientMember& member, const std::string& incarnation, SteadyTime now);
  // A graceful leave or force-leave: the member is no longer tracked, and heartbeats of
  // `incarnation` (if not empty) are ignored from now on.
  void onLeave(const std::string& name, const std::string& incarnation, SteadyTime now);

  // The actions that bring the replicated state in line, given every member record it holds.
  std::vector<Action> evaluate(SteadyTime now, int64_t wall_now_ms,
                               const std::vector<MemberView>& views);

  size_t tracked() const { return seen_.size(); }

 private:
  struct Seen {
    v1::ClientMember member;
    SteadyTime at;
  };
  bool recent(SteadyTime at, SteadyTime now) const { return now - at <= options_.client_timeout; }
  void forgetOldLeaves(SteadyTime now);

  LivenessOptions options_;
  std::optional<SteadyTime> leading_since_;
  std::map<std::string, Seen> seen_;        // by lowercase node name
  std::map<std::string, SteadyTime> left_;  // incarnation → when it left
};

// True when `record` already says what `member` reports, alive.
bool recordMatches(const v1::MemberRecord& record, const v1::ClientMember& member);

}  // namespace cairn::membership
