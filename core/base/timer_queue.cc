#include "core/base/timer_queue.h"

namespace cairn {

TimerQueue::TimerQueue() : thread_([this] { run(); }) {}

TimerQueue::~TimerQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

TimerQueue::TimerId TimerQueue::schedule(SteadyTime deadline, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  TimerId id = next_id_++;
  auto it = timers_.emplace(deadline, std::make_pair(id, std::move(fn)));
  by_id_.emplace(id, it);
  if (it == timers_.begin()) cv_.notify_one();
  return id;
}

bool TimerQueue::cancel(TimerId id) {
  std::lock_guard lock(mu_);
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return false;
  timers_.erase(found->second);
  by_id_.erase(found);
  return true;
}

size_t TimerQueue::pending() const {
  std::lock_guard lock(mu_);
  return timers_.size();
}

void TimerQueue::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      cv_.wait(lock);
      continue;
    }
    auto first = timers_.begin();
    if (first->first > std::chrono::steady_clock::now()) {
      // Copy: cancel() may erase this node while the lock is released inside wait_until().
      SteadyTime next = first->first;
      cv_.wait_until(lock, next);
      continue;
    }
    std::function<void()> fn = std::move(first->second.second);
    by_id_.erase(first->second.first);
    timers_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace cairn
