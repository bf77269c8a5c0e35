#pragma once
// Processes `cairn template` starts: a template's command (run to completion) and the -exec
// child (supervised). Both run through `/bin/sh -c`, in their own process group so a signal
// reaches whatever the shell started, with the signal mask the process had before
// `cairn template` blocked its signals.
//
// Threading: the main loop's thread only.

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <string>

#include "core/base/status.h"

namespace cairn::cli {

// Runs `command` through the shell and waits; its exit code (128 + signal when killed).
StatusOr<int> runShellCommand(const std::string& command, const sigset_t& mask);

// The -exec child.
class ExecChild {
 public:
  ExecChild(std::string command, sigset_t mask) : command_(std::move(command)), mask_(mask) {}
  ~ExecChild();

  Status start();
  bool running() const { return pid_ > 0; }
  // Sends `sig` to the child's process group.
  void signal(int sig);
  // Reaps the child if it exited; its exit code then (128 + signal when killed).
  std::optional<int> poll();
  // `kill_signal` to the group, SIGKILL after `timeout`; waits for the exit and returns its code.
  int stop(int kill_signal, std::chrono::nanoseconds timeout);

 private:
  std::string command_;
  sigset_t mask_;
  pid_t pid_ = -1;
};

}  // namespace cairn::cli
