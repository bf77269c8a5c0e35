// `cairn lock`: Consul's `lock` command. A session (TTL 15 s, renewed from the moment it exists),
// a lock at <prefix>/.lock (-n 1) or a semaphore of -n holders at <prefix>, and a child run only
// while the lock is held. The child is ended (SIGTERM, SIGKILL after 5 s) when the lock is lost:
// the key changed hands, the session was invalidated, the agent failed more than -monitor-retry
// looks in a row, or no look confirmed the hold within the hold deadline (lock_logic.h), which a
// guardian process enforces even when this process is frozen. docs/sessions.md gives the bound.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <thread>

#include "agent/cli/commands.h"
#include "agent/cli/lock_child.h"
#include "agent/cli/lock_client.h"
#include "agent/cli/lock_logic.h"
#include "core/base/duration.h"

namespace cairn::cli {
namespace {

using Steady = std::chrono::steady_clock;

constexpr char kHelp[] = R"(Usage: cairn lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate.

  The prefix provided must have write privileges.
)";

constexpr auto kMonitorRetryTime = std::chrono::seconds(1);
constexpr auto kConfirmWindow = std::chrono::seconds(15);
constexpr auto kRenewWindow = std::chrono::seconds(30);

struct LockFlags {
  HttpOptions http;
  int limit = 1;
  int monitor_retry = 3;
  std::string name;
  std::string timeout = "0s";
  bool shell = true;
  bool pass_stdin = false;
  bool child_exit_code = false;
  bool verbose = false;
};

void defineFlags(FlagSet& fs, LockFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addBool("child-exit-code", &f.child_exit_code,
             "Exit 2 if the child process exited with an error if this is true, otherwise this "
             "doesn't propagate an error from the child. The default value is false.");
  fs.addInt("n", &f.limit,
            "Optional limit on the number of concurrent lock holders. The underlying "
            "implementation switches from a lock to a semaphore when the value is greater "
            "than 1. The default value is 1.");
  fs.addInt("monitor-retry", &f.monitor_retry,
            "Number of times to retry if the agent returns a 500 error or cannot be reached "
            "while monitoring the lock, 1s apart. This rides out brief unavailability but "
            "delays noticing a lost lock. The default value is 3; 0 disables retries.");
  fs.addString("name", &f.name,
               "Optional name to associate with the lock session. It not provided, one is "
               "generated based on the provided child command.");
  fs.addBool("pass-stdin", &f.pass_stdin, "Pass stdin to the child process.");
  fs.addBool("shell", &f.shell,
             "Use a shell to run the command (can set a custom shell via the SHELL "
             "environment variable). The default value is true.");
  fs.addString("timeout", &f.timeout,
               "Maximum amount of time to wait to acquire the lock, specified as a duration "
               "like \"1s\" or \"3h\". The default value is 0 (wait forever).");
  fs.addString("try", &f.timeout, "DEPRECATED. Use -timeout instead.");
  fs.addBool("verbose", &f.verbose, "Enable verbose (debugging) output.");
}

// SIGINT and SIGTERM, blocked in every thread while the command runs: one thread waits for them,
// records the first and forwards each to the child's process group.
class SignalForwarder {
 public:
  SignalForwarder() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, &previous_);
    thread_ = std::thread([this] { run(); });
  }
  ~SignalForwarder() {
    done_ = true;
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  void setChild(lock::GuardedChild* child) { child_ = child; }
  bool caught() const { return caught_ != 0; }
  const sigset_t& previousMask() const { return previous_; }

 private:
  void run() {
    timespec tick{0, 100'000'000};
    while (!done_) {
      int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig <= 0) continue;
      caught_ = sig;
      if (lock::GuardedChild* child = child_) child->signalGroup(sig);
    }
  }
  sigset_t set_, previous_;
  std::atomic<bool> done_{false};
  std::atomic<lock::GuardedChild*> child_{nullptr};
  std::atomic<int> caught_{0};
  std::thread thread_;
};

std::string joinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + args[i];
  return out;
}

// Watches the held lock until stop(): renews are the keeper's; this thread looks (consistent,
// blocking), keeps the guardian's deadline current and ends the child when the lock is lost or a
// stop signal came.
class HoldMonitor {
 public:
  HoldMonitor(lock::Contender& contender, lock::SessionKeeper& session, lock::GuardedChild& child,
              const SignalForwarder& signals, lock::Output& out, int monitor_retry,
              Steady::time_point confirmed)
      : contender_(contender),
        session_(session),
        child_(child),
        signals_(signals),
        out_(out),
        budget_(monitor_retry),
        hold_(kConfirmWindow, kRenewWindow, confirmed, session.lastRenewSent()) {}
  ~HoldMonitor() { stop(); }

  Steady::time_point deadline() const { return hold_.deadline(); }
  void start() {
    thread_ = std::thread([this] { run(); });
  }
  // Cuts a look in progress short (`cancel` must be the one the contender's client was given):
  // the release must not wait for a blocking read to time out.
  void stop(Cancellation* cancel = nullptr) {
    stop_ = true;
    if (cancel) cancel->cancel();
    if (thread_.joinable()) thread_.join();
  }
  bool lost() const { return lost_; }
  bool shutdown() const { return shutdown_; }

 private:
  void run() {
    uint64_t index = 0;
    while (!stop_) {
      if (signals_.caught()) return endChild(&shutdown_, "Shutdown triggered, killing child");
      auto sent = Steady::now();
      auto look = contender_.look(session_.id(), index);
      if (stop_) return;
      if (look.isOk() && !look->held) return endChild(&lost_, "Lock lost, killing child");
      if (look.isOk()) {
        budget_.succeeded();
        hold_.confirmed(sent);
        index = look->index;
      } else if (look.status().code() != StatusCode::kUnavailable || !budget_.failed()) {
        out_.error("Lock monitor failed: " + look.status().message());
        return endChild(&lost_, "Lock lost, killing child");
      } else {
        index = 0;
        std::this_thread::sleep_for(kMonitorRetryTime);
      }
      hold_.renewed(session_.lastRenewSent());
      if (session_.lost())
        return endChild(&lost_, "Lock lost (session invalidated), killing child");
      if (hold_.expired(Steady::now())) {
        return endChild(&lost_,
                        "Lock lost (no confirmation within the hold deadline), killing child");
      }
      child_.setDeadline(hold_.deadline());
    }
  }

  void endChild(std::atomic<bool>* flag, const std::string& why) {
    *flag = true;
    if (flag == &lost_) {
      out_.error(why);
    } else {
      out_.info(why);
    }
    child_.terminate();
  }

  lock::Contender& contender_;
  lock::SessionKeeper& session_;
  lock::GuardedChild& child_;
  const SignalForwarder& signals_;
  lock::Output& out_;
  lock::RetryBudget budget_;
  lock::HoldDeadline hold_;
  std::atomic<bool> stop_{false}, lost_{false}, shutdown_{false};
  std::thread thread_;
};

// Releases, destroys the session and removes the lock's keys when unused, saying truthfully
// what failed. Returns false when the command must exit 1.
bool releaseAndCleanUp(lock::Contender& contender, lock::SessionKeeper& session, bool held,
                       lock::Output& out) {
  bool ok = true;
  if (held) {
    if (Status s = contender.release(session.id()); !s.isOk()) {
      out.error("Lock release failed: " + s.message());
      ok = false;
    }
  }
  if (Status s = session.destroy(); !s.isOk()) {
    out.error("Session destroy failed: " + s.message() +
              " (the servers end the session when its TTL runs out)");
  }
  if (!ok || !held) return ok;
  Status cleaned = contender.destroy();
  if (cleaned.isOk()) {
    out.info("Cleanup succeeded");
  } else if (cleaned.code() == StatusCode::kConflict && cleaned.message().ends_with("in use")) {
    out.info("Cleanup aborted, lock in use");
  } else {
    out.error("Lock cleanup failed: " + cleaned.message());
    ok = false;
  }
  return ok;
}

// The first confirmation, before the child starts: a consistent look that shows the hold, with
// the usual retry budget. Returns its send time, or nullopt when the lock is not held.
std::optional<Steady::time_point> confirmHold(lock::Contender& contender, const std::string& id,
                                              int monitor_retry, lock::Output& out) {
  lock::RetryBudget budget(monitor_retry);
  for (;;) {
    auto sent = Steady::now();
    auto look = contender.look(id, 0);
    if (look.isOk()) return look->held ? std::optional(sent) : std::nullopt;
    if (look.status().code() != StatusCode::kUnavailable || !budget.failed()) {
      out.error("Lock monitor failed: " + look.status().message());
      return std::nullopt;
    }
    std::this_thread::sleep_for(kMonitorRetryTime);
  }
}

struct Outcome {
  bool held = false;
  bool child_failed = false;
};

// Runs the child while the lock is held. `held` says whether a release is still needed.
// `watcher` is the contender the monitor uses: its client is cancelled by `cancel`.
Outcome runChild(lock::Contender& watcher, Cancellation& cancel, lock::SessionKeeper& session,
                 const LockFlags& f, const std::vector<std::string>& command,
                 SignalForwarder& signals, lock::Output& out) {
  auto confirmed = confirmHold(watcher, session.id(), f.monitor_retry, out);
  if (!confirmed) {
    out.error("Lock lost before the child started");
    return {true, false};
  }
  lock::GuardedChild child;
  HoldMonitor monitor(watcher, session, child, signals, out, f.monitor_retry, *confirmed);
  out.info("Starting handler");
  if (f.pass_stdin) out.info("Stdin passed to handler process");
  lock::ChildOptions options{command, f.shell, f.pass_stdin};
  if (Status s = child.start(options, monitor.deadline(), signals.previousMask()); !s.isOk()) {
    out.error("Error starting handler: " + s.message());
    return {true, true};
  }
  signals.setChild(&child);
  monitor.start();
  child.waitExit();
  signals.setChild(nullptr);
  monitor.stop(&cancel);
  if (signals.caught() && !monitor.shutdown()) out.info("Shutdown triggered, killing child");
  bool ended_by_us = monitor.lost() || monitor.shutdown() || signals.caught();
  int status = child.reap(ended_by_us);
  if (!ended_by_us) out.info("Child terminated, releasing lock");
  return {true, lock::childFailed(status)};
}

int runLocked(const ApiClient& api, const LockFlags& f, const std::string& prefix,
              const std::vector<std::string>& command, Nanos timeout, CliIo& io) {
  lock::Output out(io, f.verbose);
  std::string name =
      f.name.empty() ? "Consul lock for '" + joinArgs(command) + "' at '" + prefix + "'" : f.name;
  auto makeContender = [&](const ApiClient& client) {
    return f.limit == 1 ? lock::makeLock(client, prefix)
                        : lock::makeSemaphore(client, prefix, f.limit);
  };
  if (f.limit == 1) {
    out.info("Setting up lock at path: " + lock::lockKey(prefix));
  } else {
    out.info("Setting up semaphore (limit " + std::to_string(f.limit) + ") at prefix: " + prefix);
  }
  std::unique_ptr<lock::Contender> contender = makeContender(api);
  Cancellation cancel_watch;
  std::unique_ptr<lock::Contender> watcher = makeContender(api.withCancellation(cancel_watch));
  // Before the first request: the HTTP client's threads must start with the stop signals blocked.
  SignalForwarder signals;
  if (auto self = api.withTimeout(std::chrono::seconds(10)).send("GET", "/v1/agent/self", {});
      !self.isOk() || self->status != 200) {
    out.error("Error querying Cairn agent: " +
              (self.isOk() ? unexpectedResponse(*self).message() : self.status().message()));
    return 1;
  }
  lock::SessionKeeper session(api, name, f.limit == 1 ? "release" : "delete");
  out.info("Attempting lock acquisition");
  if (Status s = session.create(); !s.isOk()) {
    out.error("Lock acquisition failed: failed to create session: " + s.message());
    return 1;
  }
  lock::AcquireControl control;
  if (timeout.count() > 0) control.deadline = Steady::now() + timeout;
  control.stopped = [&signals] { return signals.caught(); };
  auto held = contender->acquire(session, control);
  if (!held.isOk() || !*held) {
    out.error(held.isOk() ? "Shutdown triggered or timeout during lock acquisition"
                          : "Lock acquisition failed: " + held.status().message());
    releaseAndCleanUp(*contender, session, false, out);
    return 1;
  }
  Outcome outcome{true, false};
  if (signals.caught()) {
    out.error("Shutdown triggered during lock acquisition");
  } else {
    outcome = runChild(*watcher, cancel_watch, session, f, command, signals, out);
  }
  if (!releaseAndCleanUp(*contender, session, outcome.held, out)) return 1;
  return f.child_exit_code && outcome.child_failed ? 2 : 0;
}

}  // namespace

int runLock(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  LockFlags f;
  defineFlags(fs, f);
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  if (f.limit <= 0) {
    io.err << "Lock holder limit must be positive\n";
    return 1;
  }
  if (fs.args().size() < 2) {
    io.err << "Key prefix and child command must be specified\n";
    return 1;
  }
  auto timeout = parseGoDuration(f.timeout);
  if (!timeout.isOk()) {
    io.err << "invalid value \"" << f.timeout
           << "\" for flag -timeout: " << timeout.status().message() << "\n";
    return 1;
  }
  if (timeout->count() < 0) {
    io.err << "Timeout must be positive\n";
    return 1;
  }
  if (f.monitor_retry < 0) {
    io.err << "Number for 'monitor-retry' must be >= 0\n";
    return 1;
  }
  std::string prefix = fs.args()[0];
  if (!prefix.empty() && prefix[0] == '/') prefix.erase(0, 1);
  std::vector<std::string> command(fs.args().begin() + 1, fs.args().end());
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  return runLocked(*api, f, prefix, command, *timeout, io);
}

}  // namespace cairn::cli
