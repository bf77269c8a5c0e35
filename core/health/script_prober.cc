#include "core/health/script_prober.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstring>
#include <mutex>

extern char** environ;

namespace cairn::health {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;

constexpr auto kReapPollInterval = std::chrono::milliseconds(50);

}  // namespace

pid_t spawnInProcessGroup(const std::vector<std::string>& args, int out_fd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&actions);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
  posix_spawn_file_actions_adddup2(&actions, out_fd, 2);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  sigset_t empty;
  sigset_t defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -rc;
}

namespace {

// One run of the script. Every member is touched on the io thread only.
class ScriptAttempt : public std::enable_shared_from_this<ScriptAttempt> {
 public:
  ScriptAttempt(asio::io_context& io, std::shared_ptr<const CheckDefinition> def, ProbeDone done)
      : def_(std::move(def)),
        pipe_(io),
        exit_watch_(io),
        timer_(io),
        reap_timer_(io),
        done_(std::move(done)),
        ring_(def_->output_max_size) {}
  ~ScriptAttempt();

  void run();
  void abort() {
    done_ = nullptr;
    killGroup();
  }

 private:
  void readMore();
  void watchExit();
  void pollExit();
  bool tryReap();
  void onTimeout();
  void maybeFinish();
  void killGroup() {
    if (pid_ > 0 && !reaped_) ::kill(-pid_, SIGKILL);
  }
  void report(CheckStatus status, std::string output, bool bypass) {
    if (ProbeDone done = std::move(done_)) done(ProbeResult{status, std::move(output), bypass});
  }

  const std::shared_ptr<const CheckDefinition> def_;
  asio::posix::stream_descriptor pipe_;
  asio::posix::stream_descriptor exit_watch_;  // the pidfd
  asio::steady_timer timer_;
  asio::steady_timer reap_timer_;  // used when pidfd_open is unavailable
  ProbeDone done_;
  OutputRing ring_;
  std::array<char, 4096> buf_{};
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool eof_ = false;
  bool timed_out_ = false;
  int wait_status_ = 0;
};

ScriptAttempt::~ScriptAttempt() {
  if (pid_ > 0 && !reaped_) {
    ::kill(-pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

void ScriptAttempt::run() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return report(CheckStatus::kCritical, std::string("pipe: ") + std::strerror(errno), true);
  }
  pid_t pid = spawnInProcessGroup(def_->script_args, fds[1]);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return report(CheckStatus::kCritical,
                  "exec: \"" + def_->script_args[0] + "\": " + std::strerror(-pid), true);
  }
  pid_ = pid;
  pipe_.assign(fds[0]);
  auto self = shared_from_this();
  timer_.expires_after(def_->timeout);
  timer_.async_wait([self](const error_code& ec) {
    if (!ec) self->onTimeout();
  });
  readMore();
  watchExit();
}

void ScriptAttempt::readMore() {
  auto self = shared_from_this();
  pipe_.async_read_some(asio::buffer(buf_), [self](const error_code& ec, size_t n) {
    self->ring_.append(std::string_view(self->buf_.data(), n));
    if (ec) {
      self->eof_ = true;
      self->maybeFinish();
      return;
    }
    self->readMore();
  });
}

void ScriptAttempt::watchExit() {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // no C++ wrapper in glibc 2.36
  if (pidfd < 0) return pollExit();
  exit_watch_.assign(pidfd);
  auto self = shared_from_this();
  exit_watch_.async_wait(asio::posix::stream_descriptor::wait_read, [self](const error_code&) {
    if (!self->tryReap()) return self->pollExit();
    self->maybeFinish();
  });
}

void ScriptAttempt::pollExit() {
  if (tryReap()) return maybeFinish();
  auto self = shared_from_this();
  reap_timer_.expires_after(kReapPollInterval);
  reap_timer_.async_wait([self](const error_code& ec) {
    if (!ec) self->pollExit();
  });
}

bool ScriptAttempt::tryReap() {
  if (reaped_) return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  reaped_ = true;
  wait_status_ = r == pid_ ? status : (255 << 8);  // lost child (ECHILD): critical
  return true;
}

void ScriptAttempt::onTimeout() {
  timed_out_ = true;
  killGroup();
  error_code ignored;
  pipe_.close(ignored);  // a grandchild outside the group may hold the pipe open
  eof_ = true;
  maybeFinish();
}

void ScriptAttempt::maybeFinish() {
  if (!reaped_ || !eof_) return;
  timer_.cancel();
  error_code ignored;
  pipe_.close(ignored);
  exit_watch_.close(ignored);
  std::string output = scriptOutput(ring_);
  if (timed_out_) {
    std::string msg = "Timed out (" + formatGoDuration(def_->timeout) + ") running check";
    if (!output.empty()) msg += "\n\n" + output;
    return report(CheckStatus::kCritical, std::move(msg), true);
  }
  CheckStatus status = CheckStatus::kCritical;
  if (WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0) status = CheckStatus::kPassing;
  if (WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 1) status = CheckStatus::kWarning;
  report(status, std::move(output), false);
}

class ScriptProber final : public Prober {
 public:
  ScriptProber(asio::io_context& io, const CheckDefinition& d)
      : io_(io), def_(std::make_shared<const CheckDefinition>(d)) {}

  void start(ProbeDone done) override {
    auto attempt = std::make_shared<ScriptAttempt>(io_, def_, std::move(done));
    {
      std::lock_guard lock(mu_);
      current_ = attempt;
    }
    asio::post(io_, [attempt] { attempt->run(); });
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    if (auto attempt = current_.lock()) asio::post(io_, [attempt] { attempt->abort(); });
  }

 private:
  asio::io_context& io_;
  const std::shared_ptr<const CheckDefinition> def_;
  std::mutex mu_;
  std::weak_ptr<ScriptAttempt> current_;
};

}  // namespace

std::shared_ptr<Prober> makeScriptProber(asio::io_context& io, const CheckDefinition& definition) {
  return std::make_shared<ScriptProber>(io, definition);
}

}  // namespace cairn::health
