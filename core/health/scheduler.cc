#include "core/health/scheduler.h"

namespace cairn::health {

SteadyTime ManualScheduler::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

Scheduler::TaskId ManualScheduler::runAt(SteadyTime when, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  TaskId id = next_id_++;
  by_id_.emplace(id, tasks_.emplace(when, std::make_pair(id, std::move(fn))));
  return id;
}

bool ManualScheduler::cancel(TaskId id) {
  std::lock_guard lock(mu_);
  auto found = by_id_.find(id);
  if (found == by_id_.end()) return false;
  tasks_.erase(found->second);
  by_id_.erase(found);
  return true;
}

void ManualScheduler::advance(Nanos d) {
  std::unique_lock lock(mu_);
  SteadyTime target = now_ + d;
  while (!tasks_.empty() && tasks_.begin()->first <= target) {
    auto first = tasks_.begin();
    if (first->first > now_) now_ = first->first;
    std::function<void()> fn = std::move(first->second.second);
    by_id_.erase(first->second.first);
    tasks_.erase(first);
    lock.unlock();
    fn();
    lock.lock();
  }
  now_ = target;
}

size_t ManualScheduler::pending() const {
  std::lock_guard lock(mu_);
  return tasks_.size();
}

std::optional<SteadyTime> ManualScheduler::nextDeadline() const {
  std::lock_guard lock(mu_);
  if (tasks_.empty()) return std::nullopt;
  return tasks_.begin()->first;
}

}  // namespace cairn::health
