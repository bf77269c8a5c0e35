#pragma once
// The HTTP side of `cairn lock`: the session (created, renewed from the moment it exists, made
// anew if the servers invalidate it while we wait), and the two ways to contend at a prefix, as
// Consul's api package does them: a lock (`<prefix>/.lock` acquired with the session) and a
// semaphore (a contender key per session plus the `<prefix>/.lock` document of holders).
//
// Threading: SessionKeeper renews on its own thread; its accessors are thread-safe. A Contender is
// used by one thread at a time (acquire and release on the main thread, look() on the monitor's).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/cli/cli_common.h"
#include "agent/cli/lock_logic.h"

namespace cairn::cli::lock {

// stdout for -verbose lines, stderr for errors; one line at a time, flushed at once (a waiter
// whose output goes to a file or pipe shows its progress as it happens). Thread-safe.
class Output {
 public:
  Output(CliIo& io, bool verbose) : io_(io), verbose_(verbose) {}
  void info(const std::string& line);
  void error(const std::string& line);

 private:
  CliIo& io_;
  bool verbose_;
  std::mutex mu_;
};

inline constexpr char kSessionTtl[] = "15s";
inline constexpr auto kSessionTtlDuration = std::chrono::seconds(15);

class SessionKeeper {
 public:
  using Clock = std::chrono::steady_clock;
  // `behavior` is "release" (lock) or "delete" (semaphore: contender keys vanish with the session).
  SessionKeeper(const ApiClient& api, std::string name, std::string behavior);
  ~SessionKeeper();

  // Creates a session (replacing a lost one) and renews it every TTL/2 until stop().
  Status create();
  std::string id() const;
  // The servers answered a renew with 404: the session was invalidated.
  bool lost() const { return lost_; }
  // When the last renew the servers accepted was sent (creation counts).
  Clock::time_point lastRenewSent() const;
  // Stops renewing and destroys the session. An error says why it could not be destroyed.
  Status destroy();

 private:
  void renewLoop();
  void stopRenewing();

  ApiClient api_;
  std::string name_, behavior_;
  mutable std::mutex mu_;
  std::string id_;
  Clock::time_point renewed_{};
  std::atomic<bool> lost_{false};
  std::atomic<bool> stop_{false};
  std::thread renewer_;
};

// What to wait for while acquiring.
struct AcquireControl {
  std::optional<std::chrono::steady_clock::time_point> deadline;  // -timeout; none: wait for ever
  std::function<bool()> stopped;                                  // a stop signal arrived
};

// One consistent look at the lock: whether `session` holds it, and the index to block on next.
struct Look {
  bool held = false;
  uint64_t index = 0;
};

class Contender {
 public:
  virtual ~Contender() = default;
  // Waits for the lock and takes it. True when held; false when the deadline passed or a stop
  // signal came (nothing printed). Errors carry Consul's messages.
  virtual StatusOr<bool> acquire(SessionKeeper& session, const AcquireControl& control) = 0;
  // A consistent read, blocking while the index stays at `index` (0: answer at once).
  // kUnavailable for transport errors and 5xx answers (worth a retry).
  virtual StatusOr<Look> look(const std::string& session, uint64_t index) = 0;
  // Gives the lock up (no-op when no longer held).
  virtual Status release(const std::string& session) = 0;
  // Removes the lock's keys when nobody holds them. kConflict "Lock in use" / "Semaphore in use"
  // when someone does (not an error for the command).
  virtual Status destroy() = 0;
};

// -n 1: Consul's Lock.
std::unique_ptr<Contender> makeLock(const ApiClient& api, const std::string& prefix);
// -n > 1: Consul's Semaphore with `limit` holders.
std::unique_ptr<Contender> makeSemaphore(const ApiClient& api, const std::string& prefix,
                                         int limit);

// How long a blocking look waits at the server; a look's evidence dates from its sending.
inline constexpr auto kLookWait = std::chrono::seconds(5);

}  // namespace cairn::cli::lock
