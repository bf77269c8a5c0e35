#pragma once
// StopSignals: how each of our binaries (agent, sidecar, operator) learns it must stop or reload.
//
// Contract: construct it first in main, before any thread starts. It blocks SIGINT and SIGTERM
// (and SIGHUP, when reloads are wanted) in the calling thread; every thread started afterwards
// inherits that mask, so the signals reach only the one thread that calls wait(). That thread
// then runs ordinary code (a reload, a drain) instead of a signal handler's async-safe subset.

#include <csignal>
#include <functional>

namespace cairn {

class StopSignals {
 public:
  enum class Reload { kNo, kOnSighup };
  explicit StopSignals(Reload reload = Reload::kNo);

  // Blocks until SIGINT or SIGTERM and returns it. With Reload::kOnSighup, each SIGHUP meanwhile
  // calls on_reload on this thread and the wait goes on. Safe to call from one thread only.
  int wait(const std::function<void()>& on_reload = {}) const;

 private:
  sigset_t set_;
};

}  // namespace cairn
