#pragma once
// CheckRunner: runs the agent's (or the sidecar's) health checks and reports each status/output
// change through a callback. It knows nothing about HTTP routes or the catalog.
//
// Threading: every method is thread-safe. The update callback runs on
//  - a prober thread (cpprestsdk's pool for HTTP, the factory's asio thread for TCP and scripts,
//    gRPC's callback threads) after an active probe,
//  - the scheduler's thread (the TimerQueue in production) when a TTL expires,
//  - the caller's thread, inside ttlUpdate(), for a TTL update.
// Callbacks are serialised: never two at once, and for one check in the order the changes
// happened. A callback may call back into the runner (e.g. remove()); it must not block on another
// thread that is calling the runner. No callback for a check runs once remove() (or add() replacing
// it, or the destructor) has returned.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "core/base/status.h"
#include "core/health/check_definition.h"
#include "core/health/prober.h"
#include "core/health/scheduler.h"

namespace cairn::health {

struct CheckSnapshot {
  CheckKind kind = CheckKind::kNone;
  CheckStatus status = CheckStatus::kCritical;
  std::string output;
  std::optional<SteadyTime> critical_since;  // set while critical
};

class CheckRunner {
 public:
  using UpdateCallback = std::function<void(const std::string& check_id, CheckStatus status,
                                            const std::string& output)>;

  // Every pointer must outlive the runner. `random` is only used under the runner's lock.
  struct Deps {
    Scheduler* scheduler = nullptr;
    Random* random = nullptr;
    ProberFactory* probers = nullptr;
  };

  CheckRunner(Deps deps, UpdateCallback on_update);
  ~CheckRunner();  // Removes every check (probes in flight are cancelled).
  CheckRunner(const CheckRunner&) = delete;
  CheckRunner& operator=(const CheckRunner&) = delete;

  // Adds a check, or replaces the check with the same id (its state starts afresh from the new
  // definition's initial status). The definition is validated and normalized first
  // (kInvalidArgument). An active check first runs after a random delay in [0, interval), then
  // `interval` after each probe finished; a TTL check turns critical if not updated within its TTL.
  // Adding does not invoke the callback.
  Status add(const std::string& check_id, const CheckDefinition& definition);

  // Stops and forgets a check. kNotFound when unknown.
  Status remove(const std::string& check_id);

  // pass/warn/fail/update of a TTL check: sets status and output (capped, see capTtlOutput) and
  // restarts its TTL. kNotFound when unknown, kInvalidArgument when not a TTL check.
  Status ttlUpdate(const std::string& check_id, CheckStatus status, std::string_view output);

  // The check's current state; kNotFound when unknown.
  StatusOr<CheckSnapshot> status(const std::string& check_id) const;

  // Checks with a DeregisterCriticalServiceAfter that have been critical for longer than it, at
  // the scheduler's current time (the agent's reaper removes their service instances).
  std::vector<std::string> criticalPastDeregister() const;

  size_t size() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::health
