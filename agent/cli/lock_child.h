#pragma once
// The child of `cairn lock` and its guardian.
//
// The child runs in its own process group, so that ending it also ends whatever it started
// (`sh -c 'a; b'` leaves `a` running if only the shell is signalled). Its stdin is /dev/null
// unless passed through, and it gets SIGTERM if the thread that started it dies.
//
// The guardian is a small second process that knows the hold deadline (lock_logic.h) and ends
// the child's group when the deadline passes: SIGTERM, then SIGKILL after the grace time. It
// exists because `cairn lock` itself may be frozen (SIGSTOP, swapped out, a debugger) or killed
// while its child keeps acting as the holder; a thread of the frozen process could do nothing.
// The guardian also acts at once when `cairn lock` dies (its pipe closes).
//
// Threading: start(), waitExit() and reap() on one thread (the one that forked: the main thread);
// setDeadline() and terminate() from any thread.

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::cli::lock {

struct ChildOptions {
  std::vector<std::string> command;  // joined with spaces for the shell
  bool shell = true;                 // $SHELL (default /bin/sh) -c "<command>"
  bool pass_stdin = false;
  std::chrono::milliseconds grace{5000};  // SIGTERM → SIGKILL
};

class GuardedChild {
 public:
  using Clock = std::chrono::steady_clock;
  ~GuardedChild();

  // Starts the guardian (armed with `deadline`) and then the child, with CONSUL_LOCK_HELD=true
  // and `mask` as its signal mask.
  Status start(const ChildOptions& options, Clock::time_point deadline, const sigset_t& mask);
  pid_t pid() const { return pid_; }

  // Moves the guardian's deadline (later or earlier).
  void setDeadline(Clock::time_point deadline);
  // Sends `sig` to the child's process group (no-op once it was reaped).
  void signalGroup(int sig);
  // SIGTERM to the group, SIGKILL after the grace time unless the child exited. Blocks for at
  // most the grace time.
  void terminate();
  // Blocks until the child has exited (it stays unreaped, so its process group ID cannot be
  // reused while signals may still be sent to it).
  void waitExit();
  // After waitExit(): disarms the guardian, ends whatever is left of the group when
  // `kill_group`, reaps the child and returns its wait status.
  int reap(bool kill_group);

 private:
  bool exitedWithin(std::chrono::milliseconds limit);
  void writeGuardian(int64_t value);

  ChildOptions options_;
  pid_t pid_ = -1;
  pid_t guardian_ = -1;
  int guardian_fd_ = -1;  // write end of the guardian's pipe
  std::mutex mu_;         // guards the pipe and `reaped_`
  bool reaped_ = false;
};

// A wait status as Consul's lock reports it: 0 for a clean exit, else an error.
bool childFailed(int wait_status);

}  // namespace cairn::cli::lock
