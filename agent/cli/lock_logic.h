#pragma once
// The pure parts of `cairn lock`: Consul's semaphore document (`<prefix>/.lock`), pruning of dead
// semaphore holders, and the hold deadline, i.e. when a holder must stop trusting that it still
// holds the lock. No I/O and no clock reads here; callers pass time in.

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/cli/kv_format.h"
#include "core/base/status.h"

namespace cairn::cli::lock {

// The flags Consul's api package writes on a lock key and on semaphore keys: a lock and a
// semaphore at the same prefix recognise each other and refuse to mix.
inline constexpr uint64_t kLockFlagValue = 0x2ddccbc058a50c18ULL;
inline constexpr uint64_t kSemaphoreFlagValue = 0xe0f69a2baa414de0ULL;
inline constexpr char kLockKeyName[] = ".lock";

// "<prefix>/.lock" (prefix without trailing slashes; "" gives ".lock").
std::string lockKey(const std::string& prefix);
// A semaphore contender's own key: "<prefix>/<session>".
std::string contenderKey(const std::string& prefix, const std::string& session);

// The semaphore document Consul keeps in `<prefix>/.lock`: {"Limit":n,"Holders":{"<id>":true}}.
struct SemaphoreLock {
  int limit = 0;
  std::set<std::string> holders;
};
// An empty value is a new document with `limit`. Errors: "lock decoding failed: <why>".
StatusOr<SemaphoreLock> decodeSemaphoreLock(const std::string& value, int limit);
std::string encodeSemaphoreLock(const SemaphoreLock& lock);
// Drops holders whose session no longer holds any key under the prefix: a contender key goes
// away (Behavior delete) when its session is invalidated, which is how a dead holder's slot frees.
void pruneDeadHolders(SemaphoreLock& lock, const std::vector<KvPair>& pairs);
// The pair with exactly this key, or nullptr.
const KvPair* findPair(const std::vector<KvPair>& pairs, const std::string& key);

// When a holder must consider its lock lost even though nothing said so. Every answer it gets is
// dated by the time its request was SENT (the server acted at or after that instant):
//  - a consistent read that showed the lock held proves the session's server reached the leader
//    after `sent`, so the leader cannot declare that node failed before sent + 10 s, and after
//    that a lock delay (15 s) still keeps the key from anyone else;
//  - a successful renew restarts the session's TTL clock (2 × TTL on the servers) after `sent`.
// The deadline is the earliest of `sent + window` over both kinds of evidence. With the defaults
// (confirm 15 s, renew 30 s, kill grace 5 s) the child is dead 5 s before any other contender can
// hold the key (docs/sessions.md derives the bound).
class HoldDeadline {
 public:
  using Clock = std::chrono::steady_clock;
  // `confirmed` and `renewed`: the send times of the evidence in hand when the hold starts.
  HoldDeadline(Clock::duration confirm_window, Clock::duration renew_window,
               Clock::time_point confirmed, Clock::time_point renewed)
      : confirm_window_(confirm_window),
        renew_window_(renew_window),
        confirmed_(confirmed),
        renewed_(renewed) {}
  void confirmed(Clock::time_point sent) { confirmed_ = std::max(confirmed_, sent); }
  void renewed(Clock::time_point sent) { renewed_ = std::max(renewed_, sent); }
  Clock::time_point deadline() const {
    return std::min(confirmed_ + confirm_window_, renewed_ + renew_window_);
  }
  bool expired(Clock::time_point now) const { return now >= deadline(); }

 private:
  Clock::duration confirm_window_, renew_window_;
  Clock::time_point confirmed_, renewed_;
};

// How long the next blocking read of a waiting contender may wait: at most `max_wait`, and never
// past the -timeout `deadline` (none: wait for ever). nullopt when the deadline has passed; the
// first attempt is always made (Consul's one-shot mode tries once even with a tiny -timeout).
std::optional<std::chrono::steady_clock::duration> acquireWait(
    std::optional<std::chrono::steady_clock::time_point> deadline,
    std::chrono::steady_clock::time_point now, int attempts,
    std::chrono::steady_clock::duration max_wait);

// Consul's monitor tolerates `monitor_retry` failed looks in a row (5xx or transport errors,
// one retry time apart) before it declares the lock lost; any successful look resets the count.
class RetryBudget {
 public:
  explicit RetryBudget(int retries) : retries_(retries), left_(retries) {}
  void succeeded() { left_ = retries_; }
  // Records a failure; false when the budget is exhausted (the lock is lost).
  bool failed() { return left_-- > 0; }

 private:
  int retries_, left_;
};

}  // namespace cairn::cli::lock
