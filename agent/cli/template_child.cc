#include "agent/cli/template_child.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace cairn::cli {
namespace {

int exitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// fork + exec of `/bin/sh -c command` in a new process group. Between fork and exec only
// async-signal-safe calls: the argv is built before.
StatusOr<pid_t> spawn(const std::string& command, const sigset_t& mask) {
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};
  pid_t pid = fork();
  if (pid < 0) return internalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    setpgid(0, 0);
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    execv(argv[0], argv);
    _exit(127);
  }
  setpgid(pid, pid);  // also here: no window in which a signal to the group misses it
  return pid;
}

}  // namespace

StatusOr<int> runShellCommand(const std::string& command, const sigset_t& mask) {
  auto pid = spawn(command, mask);
  if (!pid.isOk()) return pid.status();
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0) {
    if (errno != EINTR) return internalError(std::string("waitpid: ") + std::strerror(errno));
  }
  return exitCode(status);
}

ExecChild::~ExecChild() {
  if (running()) stop(SIGKILL, std::chrono::seconds(0));
}

Status ExecChild::start() {
  auto pid = spawn(command_, mask_);
  if (!pid.isOk()) return pid.status();
  pid_ = *pid;
  return Status::ok();
}

void ExecChild::signal(int sig) {
  if (running()) kill(-pid_, sig);
}

std::optional<int> ExecChild::poll() {
  if (!running()) return std::nullopt;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r != pid_) return std::nullopt;
  pid_ = -1;
  return exitCode(status);
}

int ExecChild::stop(int kill_signal, std::chrono::nanoseconds timeout) {
  if (!running()) return 0;
  signal(kill_signal);
  // The main loop is the only reaper and it is here, so waiting by polling waitpid is the only
  // way to bound the wait; it happens once per restart.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (auto code = poll()) return *code;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (auto code = poll()) return *code;
  signal(SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  return exitCode(status);
}

}  // namespace cairn::cli
