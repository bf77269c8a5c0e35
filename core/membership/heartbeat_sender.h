#pragma once
// HeartbeatSender: a client agent's side of membership without gossip (docs/agent.md,
// "Membership"). Every `interval` it calls cairn.v1.Membership/Heartbeat on the channel the
// caller's connection manager currently uses, hands each reply's server list to `on_servers`
// (where to fail over to) and each failed call to `on_failure` (so the connection can move to
// another server). leave() stops the heartbeats and sends Leave once.
//
// The sender owns no channel: `channel()` is asked before every call, so a failover done by the
// connection manager takes effect at the next heartbeat. A null channel counts as a failure
// ("no server connection") and is retried at the next tick.
//
// Threading: every public method is thread-safe. Ticks run on the injected Scheduler's thread;
// the callbacks (`on_servers`, `on_failure`, leave()'s `done`) run on gRPC callback threads and
// must not block. At most one heartbeat is in flight: a tick that finds the previous call
// unanswered skips (the call's own deadline ends it). After stop() no callback starts (one
// already running may finish); leave()'s `done` always runs exactly once.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cairn/v1/membership.pb.h"
#include "core/base/status.h"
#include "core/health/scheduler.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace cairn::membership {

struct HeartbeatSenderOptions {
  // Between the starts of two heartbeats, at most. Each answer carries the server's
  // client_timeout (default 10 s); the sender then heartbeats at a third of it when that is
  // shorter (at least `min_interval` apart), so that two missed heartbeats in a row do not yet
  // fail the member whatever the servers' timeout.
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds min_interval{200};
  // Deadline of one Heartbeat call; a slower answer counts as a failure.
  std::chrono::milliseconds timeout{1500};
  // Deadline of the Leave call (the leader answers once the leave is committed).
  std::chrono::milliseconds leave_timeout{5000};
};

// Everything outlives the sender (stop() it first).
struct HeartbeatSenderDeps {
  health::Scheduler* scheduler = nullptr;
  // The channel to the server this agent talks to now; may return null (not connected).
  std::function<std::shared_ptr<grpc::Channel>()> channel;
  // The servers and leader of each successful reply.
  std::function<void(const v1::HeartbeatResponse&)> on_servers;
  // A failed heartbeat (transport error, deadline, server refusal), with the channel it used.
  std::function<void(const Status&, const std::shared_ptr<grpc::Channel>&)> on_failure;
};

class HeartbeatSender {
 public:
  // `self` is what every heartbeat reports (its node name must be set). A random incarnation is
  // drawn per sender (see HeartbeatRequest.incarnation).
  HeartbeatSender(v1::ClientMember self, HeartbeatSenderOptions options, HeartbeatSenderDeps deps);
  // Calls stop().
  ~HeartbeatSender();
  HeartbeatSender(const HeartbeatSender&) = delete;
  HeartbeatSender& operator=(const HeartbeatSender&) = delete;

  // Sends a heartbeat at once, then every interval.
  void start();
  // Replaces what the next heartbeats report (e.g. node meta changed).
  void update(v1::ClientMember self);
  // Stops the heartbeats, then sends Leave on the current channel; `done` gets its outcome
  // (exactly once, also when there is no channel or the sender was stopped).
  void leave(std::function<void(Status)> done);
  // Stops the heartbeats without leaving (the servers fail the member after client_timeout).
  // Idempotent.
  void stop();

  // Counters for tests and logs.
  struct Stats {
    uint64_t sent = 0;
    uint64_t succeeded = 0;
    uint64_t failed = 0;
  };
  Stats stats() const;
  const std::string& incarnation() const;
  // Between two heartbeats now: options.interval, or less after the servers' client_timeout.
  std::chrono::milliseconds interval() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cairn::membership
