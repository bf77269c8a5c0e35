#include "agent/cli/lock_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

extern char** environ;

namespace cairn::cli::lock {
namespace {

constexpr int64_t kDisarm = 0;

int64_t toNanos(GuardedChild::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Everything below runs in a forked child of a threaded process: async-signal-safe calls only.
int64_t monotonicNanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

void sleepNanos(int64_t ns) {
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
}

bool groupAlive(pid_t pgid) { return kill(-pgid, 0) == 0; }

void endGroup(pid_t pgid, int64_t grace_ns) {
  kill(-pgid, SIGTERM);
  for (int64_t waited = 0; waited < grace_ns && groupAlive(pgid); waited += 50'000'000) {
    sleepNanos(50'000'000);
  }
  kill(-pgid, SIGKILL);
}

// The guardian's loop: holds the latest deadline read from `fd`; ends the group when it passes
// or when the pipe closes, and returns when disarmed.
[[noreturn]] void guard(int fd, pid_t pgid_hint_fd, int64_t deadline, int64_t grace_ns) {
  pid_t pgid = 0;
  // The first message is the child's pid (its process group).
  if (read(pgid_hint_fd, &pgid, sizeof pgid) != sizeof pgid) _exit(0);
  close(pgid_hint_fd);
  for (;;) {
    int64_t left_ms = (deadline - monotonicNanos()) / 1'000'000;
    if (left_ms <= 0) {
      endGroup(pgid, grace_ns);
      _exit(0);
    }
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(std::min<int64_t>(left_ms, 1000)));
    if (n <= 0) continue;
    int64_t value = 0;
    ssize_t got = read(fd, &value, sizeof value);
    if (got == 0) {  // `cairn lock` died: nobody vouches for the lock any more
      endGroup(pgid, grace_ns);
      _exit(0);
    }
    if (got != sizeof value) continue;
    if (value == kDisarm) _exit(0);
    deadline = value;
  }
}

std::vector<std::string> childArgv(const ChildOptions& o) {
  if (!o.shell) return o.command;
  std::string joined;
  for (size_t i = 0; i < o.command.size(); ++i) joined += (i ? " " : "") + o.command[i];
  const char* sh = std::getenv("SHELL");
  return {sh && *sh ? sh : "/bin/sh", "-c", joined};
}

std::vector<std::string> childEnv() {
  std::vector<std::string> env = {"CONSUL_LOCK_HELD=true"};
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "CONSUL_LOCK_HELD=", 17) != 0) env.emplace_back(*e);
  }
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

bool childFailed(int wait_status) {
  return !(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0);
}

GuardedChild::~GuardedChild() {
  if (guardian_fd_ >= 0) close(guardian_fd_);
}

Status GuardedChild::start(const ChildOptions& options, Clock::time_point deadline,
                           const sigset_t& mask) {
  options_ = options;
  int deadline_pipe[2], pid_pipe[2];
  if (pipe2(deadline_pipe, O_CLOEXEC) < 0 || pipe2(pid_pipe, O_CLOEXEC) < 0) {
    return internalError(std::string("pipe: ") + std::strerror(errno));
  }
  int64_t grace_ns = std::chrono::nanoseconds(options.grace).count();
  guardian_ = fork();
  if (guardian_ < 0) return internalError(std::string("fork: ") + std::strerror(errno));
  if (guardian_ == 0) {
    close(deadline_pipe[1]);
    close(pid_pipe[1]);
    guard(deadline_pipe[0], pid_pipe[0], toNanos(deadline), grace_ns);
  }
  close(deadline_pipe[0]);
  close(pid_pipe[0]);
  guardian_fd_ = deadline_pipe[1];

  auto argv_s = childArgv(options);
  auto env_s = childEnv();
  auto argv = pointers(argv_s);
  auto envp = pointers(env_s);
  pid_ = fork();
  if (pid_ == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (!options.pass_stdin) {
      int null = open("/dev/null", O_RDONLY);
      if (null >= 0) dup2(null, 0);
    }
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  if (pid_ < 0) {
    int err = errno;
    close(pid_pipe[1]);  // the guardian exits on the short read
    waitpid(guardian_, nullptr, 0);
    guardian_ = -1;
    return internalError(std::string("fork: ") + std::strerror(err));
  }
  setpgid(pid_, pid_);  // also from here: no window where signalGroup() misses the group
  ssize_t ignored = write(pid_pipe[1], &pid_, sizeof pid_);
  (void)ignored;
  close(pid_pipe[1]);
  return Status::ok();
}

void GuardedChild::writeGuardian(int64_t value) {
  if (guardian_fd_ < 0) return;
  ssize_t ignored = write(guardian_fd_, &value, sizeof value);
  (void)ignored;
}

void GuardedChild::setDeadline(Clock::time_point deadline) {
  std::lock_guard lock(mu_);
  writeGuardian(toNanos(deadline));
}

void GuardedChild::signalGroup(int sig) {
  std::lock_guard lock(mu_);
  if (!reaped_ && pid_ > 0) kill(-pid_, sig);
}

bool GuardedChild::exitedWithin(std::chrono::milliseconds limit) {
  auto until = Clock::now() + limit;
  while (true) {
    siginfo_t info{};
    int r = waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT);
    if (r == 0 && info.si_pid == pid_) return true;
    if (r < 0 && errno != EINTR) return true;  // already reaped
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void GuardedChild::terminate() {
  signalGroup(SIGTERM);
  if (!exitedWithin(options_.grace)) signalGroup(SIGKILL);
}

void GuardedChild::waitExit() {
  siginfo_t info{};
  while (waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
  }
}

int GuardedChild::reap(bool kill_group) {
  {
    std::lock_guard lock(mu_);
    writeGuardian(kDisarm);
    if (kill_group) kill(-pid_, SIGKILL);
  }
  if (guardian_ > 0) {
    while (waitpid(guardian_, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  std::lock_guard lock(mu_);
  reaped_ = true;
  return status;
}

}  // namespace cairn::cli::lock
