#pragma once
// Scheduler: time and deferred execution for the check runner, injected so the runner's logic is
// tested without sleeping. TimerQueueScheduler is the production implementation; ManualScheduler
// runs tasks only when a test advances its time.

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/base/clock.h"
#include "core/base/duration.h"
#include "core/base/timer_queue.h"

namespace cairn::health {

class Scheduler {
 public:
  using TaskId = uint64_t;
  virtual ~Scheduler() = default;
  // Monotonic time. Thread-safe.
  virtual SteadyTime now() const = 0;
  // Runs `fn` once at or after `when`, on the scheduler's thread (never inside runAt). Tasks must
  // be short. Thread-safe. Ids are never 0.
  virtual TaskId runAt(SteadyTime when, std::function<void()> fn) = 0;
  // Drops a pending task; false when it already started or never existed. A task that already
  // started is not waited for. Thread-safe.
  virtual bool cancel(TaskId id) = 0;
};

// Tasks run on the TimerQueue's thread; time is `clock`. Both must outlive the scheduler.
class TimerQueueScheduler final : public Scheduler {
 public:
  TimerQueueScheduler(const Clock& clock, TimerQueue& timers) : clock_(clock), timers_(timers) {}
  SteadyTime now() const override { return clock_.now(); }
  TaskId runAt(SteadyTime when, std::function<void()> fn) override {
    return timers_.schedule(when, std::move(fn));
  }
  bool cancel(TaskId id) override { return timers_.cancel(id); }

 private:
  const Clock& clock_;
  TimerQueue& timers_;
};

// Time stands still until advance(); due tasks then run on the advancing thread in deadline order
// (ties in scheduling order), each with now() equal to its deadline. Thread-safe.
class ManualScheduler final : public Scheduler {
 public:
  SteadyTime now() const override;
  TaskId runAt(SteadyTime when, std::function<void()> fn) override;
  bool cancel(TaskId id) override;

  // Moves time forward by `d`, running every task due up to the new time, including tasks that
  // running tasks schedule within the window.
  void advance(Nanos d);
  // Runs the tasks due now without moving time.
  void runDue() { advance(Nanos(0)); }
  size_t pending() const;
  // Deadline of the earliest pending task.
  std::optional<SteadyTime> nextDeadline() const;

 private:
  mutable std::mutex mu_;
  SteadyTime now_{std::chrono::seconds(1000)};
  TaskId next_id_ = 1;
  std::multimap<SteadyTime, std::pair<TaskId, std::function<void()>>> tasks_;
  std::unordered_map<TaskId, decltype(tasks_)::iterator> by_id_;
};

}  // namespace cairn::health
