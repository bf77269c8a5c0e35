#include "core/store/watch_hub.h"

namespace cairn::store {

bool WatchTarget::matches(std::string_view changed) const {
  return prefix ? changed.starts_with(key) : changed == key;
}

WatchHub::WatchId WatchHub::watch(WatchTarget target, uint64_t seen, std::function<void()> wake) {
  {
    std::lock_guard lock(mu_);
    if (!missedChangeLocked(target, seen)) {
      WatchId id = next_id_++;
      if (target.prefix) {
        prefixes_[target.key].insert(id);
        ++prefix_lengths_[target.key.size()];
      } else {
        exact_[target.key].insert(id);
      }
      waiters_.emplace(id, Waiter{std::move(target), std::move(wake)});
      return id;
    }
  }
  wake();
  return 0;
}

bool WatchHub::missedChangeLocked(const WatchTarget& target, uint64_t seen) const {
  if (seen >= last_index_) return false;
  if (recent_.empty() || recent_.front().index > seen + 1) return true;  // Too old to tell.
  for (auto it = recent_.rbegin(); it != recent_.rend() && it->index > seen; ++it) {
    if (it->everything) return true;
    for (const auto& key : it->keys) {
      if (target.matches(key)) return true;
    }
  }
  return false;
}

bool WatchHub::cancel(WatchId id) {
  std::lock_guard lock(mu_);
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return false;
  unlinkLocked(id, it->second);
  waiters_.erase(it);
  return true;
}

void WatchHub::notify(uint64_t index, const std::set<std::string>& keys) {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard lock(mu_);
    last_index_ = index;
    Change change{index, {}, keys.size() > kMaxKeysPerChange};
    if (!change.everything) change.keys.assign(keys.begin(), keys.end());
    recent_.push_back(std::move(change));
    if (recent_.size() > kRecentChanges) recent_.pop_front();
    for (const auto& key : keys) collectLocked(key, woken);
  }
  for (auto& wake : woken) wake();
}

void WatchHub::notifyAll(uint64_t index) {
  std::vector<std::function<void()>> woken;
  {
    std::lock_guard lock(mu_);
    last_index_ = index;
    recent_.push_back(Change{index, {}, true});
    if (recent_.size() > kRecentChanges) recent_.pop_front();
    std::vector<WatchId> ids;
    for (const auto& [id, waiter] : waiters_) ids.push_back(id);
    for (WatchId id : ids) takeLocked(id, woken);
  }
  for (auto& wake : woken) wake();
}

void WatchHub::collectLocked(const std::string& key, std::vector<std::function<void()>>& out) {
  std::vector<WatchId> ids;
  if (auto it = exact_.find(key); it != exact_.end())
    ids.assign(it->second.begin(), it->second.end());
  for (const auto& [length, count] : prefix_lengths_) {
    if (length > key.size()) break;
    auto it = prefixes_.find(key.substr(0, length));
    if (it != prefixes_.end()) ids.insert(ids.end(), it->second.begin(), it->second.end());
  }
  for (WatchId id : ids) takeLocked(id, out);
}

void WatchHub::takeLocked(WatchId id, std::vector<std::function<void()>>& out) {
  auto it = waiters_.find(id);
  if (it == waiters_.end()) return;
  unlinkLocked(id, it->second);
  out.push_back(std::move(it->second.wake));
  waiters_.erase(it);
}

void WatchHub::unlinkLocked(WatchId id, const Waiter& waiter) {
  auto& index = waiter.target.prefix ? prefixes_ : exact_;
  auto it = index.find(waiter.target.key);
  if (it != index.end()) {
    it->second.erase(id);
    if (it->second.empty()) index.erase(it);
  }
  if (waiter.target.prefix) {
    auto len = prefix_lengths_.find(waiter.target.key.size());
    if (--len->second == 0) prefix_lengths_.erase(len);
  }
}

uint64_t WatchHub::lastIndex() const {
  std::lock_guard lock(mu_);
  return last_index_;
}

size_t WatchHub::waiting() const {
  std::lock_guard lock(mu_);
  return waiters_.size();
}

}  // namespace cairn::store
