#pragma once
// WatchHub: the waiting side of blocking queries. A waiter is a small record (target + callback),
// never a thread. The state store notifies the hub after each applied batch is visible; the hub
// wakes exactly the waiters whose key or prefix was touched. Thread-safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cairn::store {

struct WatchTarget {
  std::string key;
  bool prefix = false;  // true: any key starting with `key`; false: exactly `key`.
  bool matches(std::string_view changed) const;
};

class WatchHub {
 public:
  using WatchId = uint64_t;

  // Calls `wake` once, on the notifying thread, after a change to `target` at an index above
  // `seen` (the lastIndex() read before the caller ran its query). If such a change already
  // happened, `wake` runs at once on this thread and 0 is returned. `wake` must be quick.
  WatchId watch(WatchTarget target, uint64_t seen, std::function<void()> wake);
  // Removes a waiter. True when it was still waiting, so its `wake` will never run.
  bool cancel(WatchId id);

  // Called by the single applier after changes up to `index` are visible to readers.
  void notify(uint64_t index, const std::set<std::string>& keys);
  // Wakes every waiter (snapshot restore: everything may have changed).
  void notifyAll(uint64_t index);

  uint64_t lastIndex() const;
  size_t waiting() const;

 private:
  struct Waiter {
    WatchTarget target;
    std::function<void()> wake;
  };
  // A recent notification, kept so that a waiter registering late can tell whether it missed one.
  struct Change {
    uint64_t index;
    std::vector<std::string> keys;
    bool everything;
  };
  static constexpr size_t kRecentChanges = 1024;
  static constexpr size_t kMaxKeysPerChange = 64;

  bool missedChangeLocked(const WatchTarget& target, uint64_t seen) const;
  void collectLocked(const std::string& key, std::vector<std::function<void()>>& out);
  void takeLocked(WatchId id, std::vector<std::function<void()>>& out);
  void unlinkLocked(WatchId id, const Waiter& waiter);

  mutable std::mutex mu_;
  uint64_t last_index_ = 0;
  WatchId next_id_ = 1;
  std::unordered_map<WatchId, Waiter> waiters_;
  std::unordered_map<std::string, std::unordered_set<WatchId>> exact_;
  std::unordered_map<std::string, std::unordered_set<WatchId>> prefixes_;
  std::map<size_t, size_t> prefix_lengths_;  // prefix length -> number of prefix waiters
  std::deque<Change> recent_;
};

}  // namespace cairn::store
