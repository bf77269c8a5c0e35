#pragma once
// TimerQueue: one thread that runs callbacks at their deadlines. Thousands of pending timers cost
// one map node each, not a thread. Callbacks run on the queue's thread and must be short: post real
// work elsewhere.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/base/clock.h"

namespace cairn {

class TimerQueue {
 public:
  using TimerId = uint64_t;

  TimerQueue();
  ~TimerQueue();  // Stops the thread; pending callbacks are dropped without running.
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Schedules `fn` to run at `deadline` (steady clock). Thread-safe.
  TimerId schedule(SteadyTime deadline, std::function<void()> fn);
  // Cancels a pending timer. Returns false when it already ran or never existed. Thread-safe.
  bool cancel(TimerId id);
  size_t pending() const;

 private:
  void run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::multimap<SteadyTime, std::pair<TimerId, std::function<void()>>> timers_;
  std::unordered_map<TimerId, decltype(timers_)::iterator> by_id_;
  TimerId next_id_ = 1;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn
