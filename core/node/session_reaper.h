#pragma once
// SessionReaper: Consul's session TTL enforcement (docs/consul-api.md §7). Every server keeps one
// timer per TTL session, (re)started at 2 × TTL whenever a create or renew is applied; when a
// timer fires on the leader it proposes SessionDestroy (invalidation then runs on every replica
// through the log). A follower's expired timer does nothing: when a server becomes leader it
// restarts every clock at now + 2 × TTL, as Consul resets its timers on leader change.

#include <chrono>
#include <cstddef>
#include <memory>

#include "core/base/timer_queue.h"
#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::node {

class SessionReaper final : public store::SessionObserver {
 public:
  // Consul's multiplier between a session's TTL and its invalidation.
  static constexpr int kTtlMultiplier = 2;

  // `timers` outlives the reaper. `poll` is how often leadership is sampled; `retry` how soon a
  // failed destroy proposal is retried while this server still leads.
  explicit SessionReaper(TimerQueue& timers,
                         std::chrono::milliseconds poll = std::chrono::milliseconds(200),
                         std::chrono::milliseconds retry = std::chrono::seconds(1));
  ~SessionReaper() override;  // stop()
  SessionReaper(const SessionReaper&) = delete;
  SessionReaper& operator=(const SessionReaper&) = delete;

  // Starts reaping through `node` and `store` (both outlive the reaper, or stop() is called
  // first): gives
  // a clock to every TTL session already in `store` that has none, and starts sampling
  // leadership (on becoming leader it also gives clocks to stored sessions it never heard of,
  // e.g. from an installed snapshot). Clocks reported before start() are kept. Call once.
  void start(Node& node, const store::StateStore& store);
  // Cancels every timer; no proposal is made afterwards. Idempotent; thread-safe.
  void stop();

  // store::SessionObserver: called on the applier's thread. Thread-safe.
  void onSessionClock(const store::SessionClock& clock) override;

  // Sessions with a running or expired clock (for tests and metrics). Thread-safe.
  size_t tracked() const;

 private:
  // The state and timer callbacks, shared with pending timers and proposals so that a callback
  // already running when the reaper is destroyed still finds valid memory (it then does nothing).
  class Core;
  std::shared_ptr<Core> core_;
};

}  // namespace cairn::node
