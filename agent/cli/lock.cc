// `cairn lock`: consul lock's algorithm (consul-api.md §7) for a single holder: a session with
// TTL 15s renewed every TTL/2, the key <prefix>/.lock acquired with Consul's lock flags, the
// child run while the lock is held (CONSUL_LOCK_HELD=true in its environment), then release and
// session destroy. SIGINT/SIGTERM are forwarded to the child; the exit code is the child's.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <thread>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include "agent/cli/commands.h"
#include "agent/cli/kv_format.h"
#include "core/base/duration.h"

extern char** environ;

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn lock [options] prefix child...

  Acquires a lock or semaphore at a given path, and invokes a child process
  when successful. The child process can assume the lock is held while it
  executes. If the lock is lost or communication is disrupted the child
  process will be sent a SIGTERM signal and given time to gracefully exit.
  After the grace period expires the process will be hard terminated.

  For Consul agents on Windows, the child process is always hard terminated
  with a SIGKILL, since Windows has no POSIX compatible notion for SIGTERM.

  When -n=1, only a single lock holder or leader exists providing mutual
  exclusion. Setting a higher value switches to a semaphore allowing multiple
  holders to coordinate (not supported yet by Cairn).

  The prefix provided must have write privileges.
)";

constexpr uint64_t kLockFlagValue = 0x2ddccbc058a50c18ULL;
constexpr char kSessionTtl[] = "15s";
constexpr auto kRenewEvery = std::chrono::milliseconds(7500);  // TTL / 2
constexpr auto kLockRetry = std::chrono::seconds(5);           // after a refused acquire
constexpr char kAcquireWait[] = "5s";  // blocking GET while waiting (short: keeps ^C responsive)
constexpr char kMonitorWait[] = "2s";  // blocking GET while held

struct LockFlags {
  HttpOptions http;
  int limit = 1;
  std::string name;
  std::string timeout = "0s";
  bool shell = true;
  bool verbose = false;
};

void defineFlags(FlagSet& fs, LockFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addInt("n", &f.limit,
            "Optional limit on the number of concurrent lock holders. The "
            "underlying implementation switches from a lock to a semaphore when "
            "the value is greater than 1. The default value is 1.");
  fs.addString("name", &f.name,
               "Optional name to associate with the lock session. It not "
               "provided, one is generated based on the provided child command.");
  fs.addString("timeout", &f.timeout,
               "Maximum amount of time to wait to acquire the lock, "
               "specified as a duration like \"1s\" or \"3h\". The "
               "default value is 0 (wait forever).");
  fs.addBool("shell", &f.shell,
             "Use a shell to run the command (can set a custom shell via the "
             "SHELL environment variable). The default value is true.");
  fs.addBool("verbose", &f.verbose, "Enable verbose (debugging) output.");
}

// The stop signals, blocked in every thread while the command runs; one thread waits for them
// and forwards them to the child (or records them while there is none).
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
  void setChild(pid_t pid) { child_ = pid; }
  bool caught() const { return caught_ != 0; }
  const sigset_t& previousMask() const { return previous_; }

 private:
  void run() {
    timespec tick{0, 100'000'000};
    while (!done_) {
      int sig = sigtimedwait(&set_, nullptr, &tick);
      if (sig <= 0) continue;
      caught_ = sig;
      if (pid_t child = child_; child > 0) kill(child, sig);
    }
  }
  sigset_t set_, previous_;
  std::atomic<bool> done_{false};
  std::atomic<pid_t> child_{0};
  std::atomic<int> caught_{0};
  std::thread thread_;
};

std::string joinArgs(const std::vector<std::string>& args, size_t from) {
  std::string out;
  for (size_t i = from; i < args.size(); ++i) out += (i > from ? " " : "") + args[i];
  return out;
}

// The session that holds the lock: created with TTL 15s and the default checks.
StatusOr<std::string> createSession(const ApiClient& api, const std::string& name) {
  web::json::value body = web::json::value::object();
  body["Name"] = web::json::value::string(name);
  body["TTL"] = web::json::value::string(kSessionTtl);
  auto r = api.send("PUT", "/v1/session/create", {}, body.serialize());
  if (!r.isOk()) return r.status();
  if (r->status != 200) return unexpectedResponse(*r);
  try {
    return web::json::value::parse(r->body).at("ID").as_string();
  } catch (const std::exception& e) {
    return internalError(std::string("decoding the session: ") + e.what());
  }
}

// Outcome of one look at the lock key.
struct KeyState {
  bool exists = false;
  KvPair pair;
  uint64_t index = 0;
};

StatusOr<KeyState> readKey(const ApiClient& api, const std::string& key, uint64_t index,
                           const char* wait, bool consistent) {
  Query q;
  if (index > 0) q = {{"index", std::to_string(index)}, {"wait", wait}};
  if (consistent) q.emplace_back("consistent", "");
  auto r = api.send("GET", "/v1/kv/" + key, q, "", true);
  if (!r.isOk()) return r.status();
  KeyState state;
  state.index = r->index;
  if (r->status == 404) return state;
  if (r->status != 200) return unexpectedResponse(*r);
  auto pairs = parseKvPairs(r->body);
  if (!pairs.isOk()) return pairs.status();
  if (pairs->empty()) return state;
  state.exists = true;
  state.pair = std::move(pairs->front());
  return state;
}

StatusOr<bool> lockWrite(const ApiClient& api, const std::string& key, const char* mode,
                         const std::string& session) {
  // Release rewrites the entry too (value and flags), so both carry the lock's flags.
  Query q = {{mode, session}, {"flags", std::to_string(kLockFlagValue)}};
  auto r = api.send("PUT", "/v1/kv/" + key, q, "");
  if (!r.isOk()) return r.status();
  if (r->status != 200) return unexpectedResponse(*r);
  return r->body.find("true") != std::string::npos;
}

// Waits for the key to be free and acquires it. False (with nothing printed) when the timeout
// elapsed or a stop signal arrived first.
StatusOr<bool> acquire(const ApiClient& api, const std::string& key, const std::string& session,
                       Nanos timeout, const SignalForwarder& signals) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t index = 0;
  while (!signals.caught()) {
    if (timeout.count() > 0 && std::chrono::steady_clock::now() >= deadline) return false;
    auto state = readKey(api, key, index, kAcquireWait, false);
    if (!state.isOk()) return state.status();
    if (state->exists && state->pair.flags != kLockFlagValue) {
      return invalidArgument("Existing key does not match lock use");
    }
    if (state->exists && !state->pair.session.empty()) {
      index = state->index;
      continue;
    }
    auto locked = lockWrite(api, key, "acquire", session);
    if (!locked.isOk()) return locked.status();
    if (*locked) return true;
    // Refused while free: a lock delay. Consul waits before trying again.
    for (auto until = std::chrono::steady_clock::now() + kLockRetry;
         std::chrono::steady_clock::now() < until && !signals.caught();) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    index = 0;
  }
  return false;
}

// While the lock is held: renews the session every TTL/2 and watches the key (consistent
// blocking reads); sets `lost` and SIGTERMs the child when the session or the key is gone.
class LockMonitor {
 public:
  LockMonitor(const ApiClient& api, std::string key, std::string session, CliIo& io)
      : api_(api), key_(std::move(key)), session_(std::move(session)), io_(io) {}
  ~LockMonitor() { stop(); }
  void start(std::atomic<pid_t>& child) {
    thread_ = std::thread([this, &child] { run(child); });
  }
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  bool lost() const { return lost_; }

 private:
  void run(std::atomic<pid_t>& child) {
    auto last_renew = std::chrono::steady_clock::now();
    uint64_t index = 0;
    while (!stop_ && !lost_) {
      auto state = readKey(api_, key_, index, kMonitorWait, true);
      if (state.isOk()) {
        index = state->index;
        if (!state->exists || state->pair.session != session_) lost_ = true;
      }
      if (!lost_ && std::chrono::steady_clock::now() - last_renew >= kRenewEvery) {
        auto r = api_.send("PUT", "/v1/session/renew/" + session_, {}, "");
        if (r.isOk() && r->status == 404) lost_ = true;
        if (r.isOk() && r->status == 200) last_renew = std::chrono::steady_clock::now();
      }
      if (!state.isOk()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    if (lost_ && !stop_) {
      io_.err << "Lock lost, killing child\n";
      if (pid_t pid = child; pid > 0) kill(pid, SIGTERM);
    }
  }
  const ApiClient& api_;
  std::string key_, session_;
  CliIo& io_;
  std::atomic<bool> stop_{false}, lost_{false};
  std::thread thread_;
};

// Starts the child with CONSUL_LOCK_HELD=true and the caller's signal mask. -1 on failure.
pid_t startChild(const std::vector<std::string>& command, bool shell, const sigset_t& mask) {
  std::vector<std::string> argv_s;
  if (shell) {
    const char* sh = std::getenv("SHELL");
    argv_s = {sh && *sh ? sh : "/bin/sh", "-c", joinArgs(command, 0)};
  } else {
    argv_s = command;
  }
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = {"CONSUL_LOCK_HELD=true"};
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "CONSUL_LOCK_HELD=", 17) != 0) env_s.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  return pid;
}

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

void cleanup(const ApiClient& api, const std::string& key, const std::string& session, bool held,
             CliIo& io) {
  if (held) {
    auto released = lockWrite(api, key, "release", session);
    if (!released.isOk()) io.err << "Lock release failed: " << released.status().message() << "\n";
  }
  // Like consul lock's cleanup: the key goes away once nobody holds it (a CAS delete, so a key
  // another contender just acquired stays).
  if (auto state = readKey(api, key, 0, "", false); state.isOk() && state->exists &&
                                                    state->pair.session.empty() &&
                                                    state->pair.flags == kLockFlagValue) {
    auto r = api.send("DELETE", "/v1/kv/" + key,
                      {{"cas", std::to_string(state->pair.modify_index)}}, "");
    if (!r.isOk()) io.err << "Lock cleanup failed: " << r.status().message() << "\n";
  }
  auto destroyed = api.send("PUT", "/v1/session/destroy/" + session, {}, "");
  if (!destroyed.isOk()) {
    io.err << "Session destroy failed: " << destroyed.status().message() << "\n";
  }
}

int runLocked(const ApiClient& api, const LockFlags& f, const std::string& prefix,
              const std::vector<std::string>& command, Nanos timeout, CliIo& io) {
  std::string base = prefix;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string key = base + "/.lock";
  std::string name = f.name.empty()
                         ? "Consul lock for '" + joinArgs(command, 0) + "' at '" + prefix + "'"
                         : f.name;
  SignalForwarder signals;
  auto session = createSession(api, name);
  if (!session.isOk()) {
    io.err << "Lock acquisition failed: failed to create session: " << session.status().message()
           << "\n";
    return 1;
  }
  if (f.verbose) io.out << "Attempting lock acquisition\n";
  auto held = acquire(api, key, *session, timeout, signals);
  if (!held.isOk() || !*held) {
    if (!held.isOk())
      io.err << "Lock acquisition failed: " << held.status().message() << "\n";
    else
      io.err << "Shutdown triggered or timeout during lock acquisition\n";
    cleanup(api, key, *session, false, io);
    return 1;
  }
  if (f.verbose) io.out << "Lock acquired\n";
  io.out.flush();
  io.err.flush();
  std::atomic<pid_t> child{0};
  LockMonitor monitor(api, key, *session, io);
  monitor.start(child);
  pid_t pid = startChild(command, f.shell, signals.previousMask());
  if (pid < 0) {
    io.err << "Error running handler: " << std::strerror(errno) << "\n";
    monitor.stop();
    cleanup(api, key, *session, true, io);
    return 1;
  }
  child = pid;
  signals.setChild(pid);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  signals.setChild(0);
  child = 0;
  monitor.stop();
  cleanup(api, key, *session, true, io);
  if (f.verbose) io.out << "Cleanup succeeded\n";
  return exitCodeOf(status);
}

}  // namespace

int runLock(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  LockFlags f;
  defineFlags(fs, f);
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  if (fs.args().size() < 2) {
    io.err << "Key prefix and child command must be specified\n";
    return 1;
  }
  if (f.limit < 1) {
    io.err << "Lock holder limit must be positive\n";
    return 1;
  }
  if (f.limit > 1) {
    io.err << "Semaphores (-n > 1) are not supported by Cairn yet\n";
    return 1;
  }
  auto timeout = parseGoDuration(f.timeout);
  if (!timeout.isOk()) {
    io.err << "invalid value \"" << f.timeout
           << "\" for flag -timeout: " << timeout.status().message() << "\n";
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
