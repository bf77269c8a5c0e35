#include "agent/cli/template_runner.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "agent/cli/template_child.h"
#include "core/template/render.h"

namespace cairn::cli {

using tmpl::Dependency;
using tmpl::Value;

// ---- Flag syntaxes ----

StatusOr<TemplateSpec> parseTemplateSpec(const std::string& flag) {
  size_t first = flag.find(':');
  if (first == std::string::npos || first == 0 || first + 1 == flag.size()) {
    return invalidArgument("invalid -template " + flag +
                           ": expected \"<source>:<destination>[:<command>]\"");
  }
  TemplateSpec spec;
  spec.source = flag.substr(0, first);
  std::string rest = flag.substr(first + 1);
  size_t second = rest.find(':');
  spec.destination = rest.substr(0, second);
  if (second != std::string::npos) spec.command = rest.substr(second + 1);
  if (spec.destination.empty())
    return invalidArgument("invalid -template " + flag + ": no destination");
  return spec;
}

StatusOr<WaitSpec> parseWaitSpec(const std::string& flag) {
  size_t colon = flag.find(':');
  auto min = parseGoDuration(flag.substr(0, colon));
  if (!min.isOk()) return invalidArgument("invalid -wait " + flag + ": " + min.status().message());
  WaitSpec w;
  w.min = *min;
  w.max = *min * 4;
  if (colon != std::string::npos) {
    auto max = parseGoDuration(flag.substr(colon + 1));
    if (!max.isOk())
      return invalidArgument("invalid -wait " + flag + ": " + max.status().message());
    w.max = *max;
  }
  if (w.min.count() < 0 || w.max < w.min) {
    return invalidArgument("invalid -wait " + flag + ": max must be at least min");
  }
  return w;
}

StatusOr<int> parseSignalName(const std::string& name) {
  static const std::map<std::string, int> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"TERM", SIGTERM}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"WINCH", SIGWINCH},
      {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"ALRM", SIGALRM},
  };
  if (name.empty()) return 0;
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper.rfind("SIG", 0) == 0) upper = upper.substr(3);
  auto it = kSignals.find(upper);
  if (it != kSignals.end()) return it->second;
  char* end = nullptr;
  long n = std::strtol(name.c_str(), &end, 10);
  if (end && *end == '\0' && n > 0 && n < 65) return static_cast<int>(n);
  return invalidArgument("unknown signal " + name);
}

void Quiescence::change(Clock::time_point now) {
  quiet_until_ = now + wait_.min;
  if (!pending_) max_until_ = now + wait_.max;
  pending_ = true;
}

Quiescence::Clock::time_point Quiescence::due() const { return std::min(quiet_until_, max_until_); }

// ---- Files ----

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return data.str();
}

namespace {

Status errnoStatus(const std::string& what, const std::string& path) {
  return internalError(what + " " + path + ": " + std::strerror(errno));
}

Status makeParents(const std::string& path) {
  for (size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1)) {
    std::string dir = path.substr(0, at);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errnoStatus("mkdir", dir);
  }
  return Status::ok();
}

Status writeAll(int fd, const std::string& content, const std::string& path) {
  for (size_t off = 0; off < content.size();) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errnoStatus("write", path);
    off += static_cast<size_t>(n);
  }
  return Status::ok();
}

}  // namespace

Status writeFileAtomically(const std::string& path, const std::string& content) {
  CAIRN_RETURN_IF_ERROR(makeParents(path));
  mode_t mode = 0644;
  struct stat st {};
  bool existed = stat(path.c_str(), &st) == 0;
  if (existed) mode = st.st_mode & 07777;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string tmp = dir + "/." + base + ".cairn-XXXXXX";
  int fd = mkstemp(tmp.data());
  if (fd < 0) return errnoStatus("create a temporary file for", path);
  Status s = writeAll(fd, content, tmp);
  if (s.isOk() && fchmod(fd, mode) != 0) s = errnoStatus("chmod", tmp);
  // Keep the owner when we may (running as root for a file another user owns).
  if (s.isOk() && existed && fchown(fd, st.st_uid, st.st_gid) != 0) errno = 0;
  if (s.isOk() && fsync(fd) != 0) s = errnoStatus("fsync", tmp);
  if (close(fd) != 0 && s.isOk()) s = errnoStatus("close", tmp);
  if (s.isOk() && rename(tmp.c_str(), path.c_str()) != 0) s = errnoStatus("rename to", path);
  if (!s.isOk()) unlink(tmp.c_str());
  return s;
}

namespace {

constexpr char kBlockingWait[] = "60s";
constexpr auto kRequestTimeout = std::chrono::seconds(90);
constexpr int kMaxFailures = 10;  // ~1 minute of retries (250 ms doubling, at most 10 s)

// Log lines in consul-template's shape: "[INFO] (runner) ...". Thread-safe.
class Log {
 public:
  Log(std::ostream& err, bool quiet) : err_(err), quiet_(quiet) {}
  void info(const std::string& who, const std::string& what) {
    if (!quiet_) line("[INFO] (" + who + ") " + what);
  }
  void warn(const std::string& who, const std::string& what) {
    line("[WARN] (" + who + ") " + what);
  }
  void error(const std::string& who, const std::string& what) {
    line("[ERR] (" + who + ") " + what);
  }
  // The error that ends the command ("Error: ..."), through the same lock as the log lines.
  void fatal(const std::string& what) { line("Error: " + what); }

 private:
  void line(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    err_ << text << std::endl;
  }
  std::mutex mu_;
  std::ostream& err_;
  bool quiet_;
};

// What the watchers and the signal thread tell the main loop.
class Inbox {
 public:
  struct Events {
    bool data = false;
    std::vector<int> signals;
  };
  void dataChanged() {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.data = true;
    cv_.notify_one();
  }
  void signal(int sig) {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.signals.push_back(sig);
    cv_.notify_one();
  }
  // Returns what arrived, waiting until something did or `until` passed.
  Events wait(std::optional<std::chrono::steady_clock::time_point> until) {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [&] { return pending_.data || !pending_.signals.empty(); };
    if (until) {
      cv_.wait_until(lock, *until, ready);
    } else {
      cv_.wait(lock, ready);
    }
    return std::exchange(pending_, Events{});
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  Events pending_;
};

// The latest answer of every watched dependency, by Dependency::id().
class DataStore {
 public:
  std::optional<Value> get(const Dependency& dep) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = values_.find(dep.id());
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  // Stores `value`; false when it equals what was there (nothing to re-render).
  bool set(const std::string& id, Value value) {
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, inserted] = values_.try_emplace(id, value);
    if (inserted) return true;
    if (it->second == value) return false;
    it->second = std::move(value);
    return true;
  }
  void erase(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    values_.erase(id);
  }

 private:
  std::mutex mu_;
  std::map<std::string, Value> values_;
};

// One dependency's blocking-query loop on its own thread.
class DependencyWatcher {
 public:
  DependencyWatcher(Dependency dep, const ApiClient& api, DataStore& store, Inbox& inbox, Log& log)
      : dep_(std::move(dep)),
        api_(api.withTimeout(kRequestTimeout).withCancellation(cancel_)),
        store_(store),
        inbox_(inbox),
        log_(log) {
    thread_ = std::thread([this] { run(); });
  }
  ~DependencyWatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    cancel_.cancel();
    thread_.join();
  }
  // Set after kMaxFailures consecutive failures: the agent is unreachable or refuses.
  std::optional<std::string> fatal() const {
    std::lock_guard<std::mutex> lock(mu_);
    return fatal_;
  }

 private:
  bool stopping() const {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  // Waits `delay` unless stopped first; false when stopping.
  bool backoff(std::chrono::milliseconds delay) {
    std::unique_lock<std::mutex> lock(mu_);
    return !cv_.wait_for(lock, delay, [&] { return stopping_; });
  }

  // The agent's node name, which a bare `node` reads.
  StatusOr<std::string> agentNodeName() {
    auto r = api_.send("GET", "/v1/agent/self", {}, "", true);
    if (!r.isOk()) return r.status();
    if (r->status != 200) return unexpectedResponse(*r);
    auto self = tmpl::parseJson(r->body);
    if (!self.isOk()) return self.status();
    const auto& config = self->asMap().find("Config");
    if (config == self->asMap().end()) return internalError("agent/self has no Config");
    auto name = config->second.asMap().find("NodeName");
    if (name == config->second.asMap().end()) return internalError("agent/self has no NodeName");
    return name->second.asString();
  }

  // One query: the decoded answer and the index to block on next.
  StatusOr<std::pair<Value, uint64_t>> fetch(uint64_t index) {
    if (dep_.kind == Dependency::Kind::kNode && dep_.name.empty() && agent_node_.empty()) {
      auto name = agentNodeName();
      if (!name.isOk()) return name.status();
      agent_node_ = *name;
    }
    tmpl::DependencyRequest req = tmpl::requestFor(dep_, agent_node_);
    Query q(req.query.begin(), req.query.end());
    if (index > 0) {
      q.emplace_back("index", std::to_string(index));
      q.emplace_back("wait", kBlockingWait);
    }
    auto r = api_.send("GET", req.path, q, "", true);
    if (!r.isOk()) return r.status();
    auto value = tmpl::decodeResponse(dep_, r->status, r->body);
    if (!value.isOk()) return value.status();
    return std::make_pair(std::move(*value), r->index);
  }

  void run() {
    uint64_t index = 0;
    int failures = 0;
    while (!stopping()) {
      auto got = fetch(index);
      if (stopping()) return;
      if (!got.isOk()) {
        ++failures;
        log_.error("view", dep_.id() + ": " + got.status().message());
        if (failures >= kMaxFailures) {
          std::lock_guard<std::mutex> lock(mu_);
          fatal_ = dep_.id() + ": " + got.status().message();
        }
        if (failures >= kMaxFailures) {
          inbox_.dataChanged();  // wakes the main loop, which sees fatal()
          return;
        }
        if (!backoff(std::chrono::milliseconds(std::min(250 << (failures - 1), 10'000)))) return;
        continue;
      }
      failures = 0;
      auto& [value, new_index] = *got;
      if (store_.set(dep_.id(), std::move(value))) inbox_.dataChanged();
      // Consul's rule: an index that went backwards (a restored snapshot) restarts at 0.
      index = new_index < index ? 0 : new_index;
      if (index == 0 && !backoff(std::chrono::seconds(1))) return;  // no index: cannot block
    }
  }

  Dependency dep_;
  Cancellation cancel_;
  ApiClient api_;
  DataStore& store_;
  Inbox& inbox_;
  Log& log_;
  std::string agent_node_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::optional<std::string> fatal_;
  std::thread thread_;
};

// Takes SIGINT, SIGTERM, SIGHUP and SIGCHLD (blocked everywhere) with sigwait.
class SignalThread {
 public:
  SignalThread(const sigset_t& set, Inbox& inbox) : set_(set), inbox_(inbox) {
    thread_ = std::thread([this] { run(); });
  }
  ~SignalThread() {
    stopping_ = true;
    pthread_kill(thread_.native_handle(), SIGCHLD);  // in the set: wakes sigwait
    thread_.join();
  }

 private:
  void run() {
    while (!stopping_) {
      int sig = 0;
      if (sigwait(&set_, &sig) != 0) continue;
      if (stopping_) return;
      inbox_.signal(sig);
    }
  }
  sigset_t set_;
  Inbox& inbox_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

struct LoadedTemplate {
  TemplateSpec spec;
  std::optional<tmpl::Template> parsed;
  bool rendered = false;  // a complete render was written (or found identical) once
};

StatusOr<tmpl::Template> loadTemplate(const TemplateSpec& spec) {
  auto text = readFile(spec.source);
  if (!text) {
    return invalidArgument("template: open " + spec.source + ": " +
                           std::strerror(errno ? errno : ENOENT));
  }
  return tmpl::Template::parse(*text, spec.source);
}

class Runner {
 public:
  Runner(const TemplateRunOptions& options, const ApiClient& api, CliIo& io,
         const sigset_t& child_mask)
      : options_(options),
        api_(api),
        io_(io),
        log_(io.err, options.quiet),
        child_mask_(child_mask) {}

  int run() {
    for (const auto& spec : options_.templates) {
      auto parsed = loadTemplate(spec);
      if (!parsed.isOk()) {
        log_.fatal(parsed.status().message());
        return 1;
      }
      templates_.push_back({spec, std::move(*parsed), false});
    }
    if (!options_.exec_command.empty()) {
      child_ = std::make_unique<ExecChild>(options_.exec_command, child_mask_);
    }
    int code = loop();
    watchers_.clear();
    return code;
  }

 private:
  int loop() {
    Quiescence quiet(options_.wait);
    bool render_now = true;
    while (true) {
      if (render_now) {
        render_now = false;
        quiet.rendered();
        if (auto code = renderAndAct()) return *code;
      }
      std::optional<std::chrono::steady_clock::time_point> until;
      if (quiet.pending()) until = quiet.due();
      Inbox::Events events = inbox_.wait(until);
      for (const auto& [id, w] : watchers_) {
        if (auto fatal = w->fatal()) {
          log_.fatal("giving up on " + *fatal);
          return stopChild(1);
        }
      }
      for (int sig : events.signals) {
        if (auto code = onSignal(sig)) return *code;
      }
      if (child_ && child_started_) {
        if (auto code = child_->poll()) {
          log_.info("child", "exited with code " + std::to_string(*code));
          return *code;
        }
      }
      if (events.data && !frozen_) {
        // Until every template has rendered once, data renders at once (it may reveal more
        // dependencies); afterwards changes wait for the -wait quiet period.
        if (allRendered()) {
          quiet.change(std::chrono::steady_clock::now());
        } else {
          render_now = true;
        }
      }
      if (quiet.pending() && std::chrono::steady_clock::now() >= quiet.due()) render_now = true;
    }
  }

  bool allRendered() const {
    return std::all_of(templates_.begin(), templates_.end(),
                       [](const LoadedTemplate& t) { return t.rendered; });
  }

  // Renders every template, writes what changed, runs commands and drives the child. An exit
  // code when the runner must stop.
  std::optional<int> renderAndAct() {
    tmpl::RenderDeps deps;
    deps.data = [this](const Dependency& dep) { return store_.get(dep); };
    deps.env = io_.env;
    std::map<std::string, Dependency> wanted;
    std::vector<std::string> commands;
    bool changed = false;
    bool commands_failed = false;
    for (auto& t : templates_) {
      auto r = t.parsed->render(deps);
      if (!r.isOk()) {
        log_.fatal(r.status().message());
        return stopChild(1);
      }
      for (const auto& dep : r->used) wanted.emplace(dep.id(), dep);
      if (!r->complete) continue;
      t.rendered = true;
      auto wrote = output(t.spec, r->text);
      if (!wrote.isOk()) {
        log_.fatal(wrote.status().message());
        return stopChild(1);
      }
      if (!*wrote) continue;
      changed = true;
      const std::string& cmd = t.spec.command;
      if (!cmd.empty() && !options_.dry &&
          std::find(commands.begin(), commands.end(), cmd) == commands.end()) {
        commands.push_back(cmd);
      }
    }
    watch(wanted);
    for (const auto& cmd : commands) {
      log_.info("runner", "executing command \"" + cmd + "\"");
      auto code = runShellCommand(cmd, child_mask_);
      if (!code.isOk() || *code != 0) {
        commands_failed = true;
        log_.error("runner", "command \"" + cmd + "\" failed: " +
                                 (code.isOk() ? "exit status " + std::to_string(*code)
                                              : code.status().message()));
      }
    }
    if (!allRendered()) return std::nullopt;
    if (options_.once) {
      if (!child_) return commands_failed ? 1 : 0;
      frozen_ = true;  // -once -exec: render once, then only supervise the child
      watch({});
    }
    return driveChild(changed);
  }

  // Writes (or prints, -dry) a complete render; true when the destination changed.
  StatusOr<bool> output(const TemplateSpec& spec, const std::string& text) {
    if (options_.dry) {
      io_.out << "> " << spec.destination << "\n" << text;
      io_.out.flush();
      return true;
    }
    auto current = readFile(spec.destination);
    if (current && *current == text) return false;
    CAIRN_RETURN_IF_ERROR(writeFileAtomically(spec.destination, text));
    log_.info("runner", "rendered \"" + spec.source + "\" => \"" + spec.destination + "\"");
    return true;
  }

  // Starts the child after the first complete render; on later changes restarts it or sends
  // it the reload signal.
  std::optional<int> driveChild(bool changed) {
    if (!child_) return std::nullopt;
    if (!child_started_) {
      child_started_ = true;
      log_.info("child", "spawning: " + options_.exec_command);
      if (Status s = child_->start(); !s.isOk()) {
        log_.fatal("starting the child: " + s.message());
        return 1;
      }
      return std::nullopt;
    }
    if (!changed || !child_->running()) return std::nullopt;
    if (options_.exec_reload_signal != 0) {
      log_.info("child", "sending reload signal " + std::to_string(options_.exec_reload_signal));
      child_->signal(options_.exec_reload_signal);
      return std::nullopt;
    }
    log_.info("child", "restarting");
    child_->stop(options_.exec_kill_signal, options_.exec_kill_timeout);
    if (Status s = child_->start(); !s.isOk()) {
      log_.fatal("restarting the child: " + s.message());
      return 1;
    }
    return std::nullopt;
  }

  // Ends the child (if any) before exiting with `code`.
  int stopChild(int code) {
    if (child_ && child_->running()) {
      child_->stop(options_.exec_kill_signal, options_.exec_kill_timeout);
    }
    return code;
  }

  std::optional<int> onSignal(int sig) {
    if (sig == SIGCHLD) return std::nullopt;  // the loop polls the child after the signals
    bool child_running = child_ && child_->running();
    if (sig == SIGHUP) {
      if (child_running) {
        log_.info("child", "forwarding signal " + std::to_string(sig));
        child_->signal(sig);
      } else {
        reloadTemplates();
      }
      return std::nullopt;
    }
    // SIGINT, SIGTERM: forward to the child and exit with its code, or stop.
    log_.info("runner", std::string("received ") + strsignal(sig) + ", stopping");
    if (child_running) return child_->stop(sig, options_.exec_kill_timeout);
    return 0;
  }

  // SIGHUP without a child: read the template files again (a bad one keeps its old version).
  void reloadTemplates() {
    log_.info("runner", "reloading templates");
    for (auto& t : templates_) {
      auto parsed = loadTemplate(t.spec);
      if (!parsed.isOk()) {
        log_.error("runner", parsed.status().message() + " (keeping the previous version)");
        continue;
      }
      t.parsed = std::move(*parsed);
    }
    inbox_.dataChanged();
  }

  // Keeps exactly one watcher per wanted dependency.
  void watch(const std::map<std::string, Dependency>& wanted) {
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (wanted.count(it->first)) {
        ++it;
        continue;
      }
      store_.erase(it->first);
      it = watchers_.erase(it);
    }
    for (const auto& [id, dep] : wanted) {
      if (watchers_.count(id)) continue;
      log_.info("runner", "watching " + id);
      watchers_.emplace(id, std::make_unique<DependencyWatcher>(dep, api_, store_, inbox_, log_));
    }
  }

  const TemplateRunOptions& options_;
  const ApiClient& api_;
  CliIo& io_;
  Log log_;
  sigset_t child_mask_;
  Inbox inbox_;
  DataStore store_;
  std::vector<LoadedTemplate> templates_;
  std::unique_ptr<ExecChild> child_;
  bool child_started_ = false;
  bool frozen_ = false;
  std::map<std::string, std::unique_ptr<DependencyWatcher>> watchers_;

 public:
  Inbox& inbox() { return inbox_; }
};

}  // namespace

int runTemplates(const TemplateRunOptions& options, const HttpOptions& http, CliIo& io) {
  // Block the signals in this thread before any other starts (threads inherit the mask, the
  // HTTP client's pool included), so only the signal thread's sigwait takes them; children get
  // the old mask back.
  sigset_t set, old_mask;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, &old_mask);
  int code = 1;
  if (auto api = connectApi(http, io)) {
    Runner runner(options, *api, io, old_mask);
    SignalThread signals(set, runner.inbox());
    code = runner.run();
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  return code;
}

}  // namespace cairn::cli
