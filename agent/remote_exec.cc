#include "agent/remote_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include "core/base/go_encoding.h"
#include "core/base/logging.h"
#include "core/health/script_prober.h"

namespace cairn::agent {
namespace {

constexpr char kLog[] = "agent.rexec";
constexpr char kEventName[] = "_rexec";
constexpr size_t kOutputChunk = 4 * 1024;                // Consul: remoteExecOutputSize
constexpr std::chrono::milliseconds kOutputIdle{500};    // Consul: remoteExecOutputDeadline
constexpr std::chrono::milliseconds kDefaultWait{2000};  // a spec without Wait: consul exec's
constexpr std::chrono::seconds kRetryAfterError{1};

using Clock = std::chrono::steady_clock;
using Json = web::json::value;

std::string stringField(const Json& v, const char* name) {
  return v.is_object() && v.has_field(name) && v.at(name).is_string() ? v.at(name).as_string() : "";
}

// The job spec of <prefix>/<session>/job (Consul's remoteExecSpec).
struct JobSpec {
  std::string command;
  std::vector<std::string> args;
  std::string script;
  std::chrono::milliseconds wait = kDefaultWait;
};

StatusOr<JobSpec> parseSpec(const std::string& text) {
  Json v;
  try {
    v = Json::parse(text);
  } catch (const std::exception& e) {
    return invalidArgument(std::string("job spec is not JSON: ") + e.what());
  }
  if (!v.is_object()) return invalidArgument("job spec is not a JSON object");
  JobSpec spec;
  spec.command = stringField(v, "Command");
  if (v.has_field("Args") && v.at("Args").is_array()) {
    for (const auto& a : v.at("Args").as_array()) {
      if (a.is_string()) spec.args.push_back(a.as_string());
    }
  }
  if (std::string script = stringField(v, "Script"); !script.empty()) {
    auto decoded = base64Decode(script);
    if (!decoded.isOk()) return invalidArgument("job spec Script: " + decoded.status().message());
    spec.script = std::move(*decoded);
  }
  if (v.has_field("Wait") && v.at("Wait").is_number()) {
    int64_t ns = v.at("Wait").as_number().to_int64();
    if (ns > 0) spec.wait = std::chrono::milliseconds(ns / 1'000'000);
  }
  if (spec.wait < std::chrono::milliseconds(100)) spec.wait = std::chrono::milliseconds(100);
  if (spec.command.empty() && spec.args.empty() && spec.script.empty()) {
    return invalidArgument("job spec has no Command, Args or Script");
  }
  return spec;
}

// The event's node filter, checked here too (as a Consul agent checks the events it receives):
// the list is meant to hold only this agent's events, and a command must never run on a node the
// filter excludes.
bool nodeFilterMatches(const std::string& pattern, const std::string& node) {
  if (pattern.empty()) return true;
  try {
    return std::regex_search(node, std::regex(pattern, std::regex::ECMAScript));
  } catch (const std::regex_error&) {
    return false;
  }
}

std::string hexSeq(int n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05x", n);
  return buf;
}

}  // namespace

// One job: reads the spec, acks, runs the command and uploads its output and exit code.
struct RemoteExec::Job {
  Job(::cairn::client::ApiClient api, std::string node, std::string prefix, std::string session)
      : api(std::move(api)),
        node(std::move(node)),
        prefix(std::move(prefix)),
        session(std::move(session)) {}

  void run();
  void kill();
  bool done() const { return finished.load(); }

  ::cairn::client::ApiClient api;
  const std::string node, prefix, session;
  std::thread thread;
  std::atomic<bool> finished{false};
  std::atomic<pid_t> pid{0};
  std::string script_file;

 private:
  StatusOr<JobSpec> readSpec();
  // PUT <prefix>/<session>/<node>/<suffix>?acquire=<session>; false when the write failed
  // (the session is gone: exec ended).
  bool writeKey(const std::string& suffix, const std::string& value);
  // Streams the process's output until its pipe closes; false when an upload failed.
  bool uploadOutput(int fd, const JobSpec& spec);
  int reap();
};

StatusOr<JobSpec> RemoteExec::Job::readSpec() {
  std::string key = prefix + "/" + session + "/job";
  // Consul reads stale first and retries consistently when the stale read has no job yet.
  for (bool stale : {true, false}) {
    ::cairn::client::Query q{{"raw", ""}};
    if (stale) q.emplace_back("stale", "");
    auto r = api.send("GET", "/v1/kv/" + key, q);
    if (!r.isOk()) return r.status();
    if (r->status == 200) return parseSpec(r->body);
    if (r->status != 404) return ::cairn::client::unexpectedResponse(*r);
  }
  return notFound("job spec " + key + " missing");
}

bool RemoteExec::Job::writeKey(const std::string& suffix, const std::string& value) {
  std::string key = prefix + "/" + session + "/" + node + "/" + suffix;
  auto r = api.send("PUT", "/v1/kv/" + key, {{"acquire", session}}, value);
  if (r.isOk() && r->status == 200 && r->body.find("true") != std::string::npos) return true;
  LOG_WARN(kLog, "writing " << key << " failed: "
                            << (r.isOk() ? ::cairn::client::unexpectedResponse(*r).message()
                                         : r.status().message()));
  return false;
}

bool RemoteExec::Job::uploadOutput(int fd, const JobSpec& spec) {
  std::string buffered;
  int seq = 0;
  Clock::time_point first_buffered{}, last_upload = Clock::now();
  auto flush = [&]() {
    bool ok = writeKey("out/" + hexSeq(seq++), buffered);
    buffered.clear();
    last_upload = Clock::now();
    return ok;
  };
  char buf[kOutputChunk];
  for (;;) {
    auto now = Clock::now();
    auto next = buffered.empty() ? last_upload + spec.wait : first_buffered + kOutputIdle;
    int timeout_ms = static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count()));
    pollfd p{fd, POLLIN, 0};
    int rc = ::poll(&p, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0) {  // quiet: send what is buffered, or a heartbeat
      if (!flush()) return false;
      continue;
    }
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (buffered.empty()) first_buffered = Clock::now();
    size_t at = 0;
    while (at < static_cast<size_t>(n)) {
      size_t take = std::min(kOutputChunk - buffered.size(), static_cast<size_t>(n) - at);
      buffered.append(buf + at, take);
      at += take;
      if (buffered.size() == kOutputChunk && !flush()) return false;
      if (buffered.empty() && at < static_cast<size_t>(n)) first_buffered = Clock::now();
    }
  }
  return buffered.empty() || flush();
}

int RemoteExec::Job::reap() {
  int status = 0;
  pid_t p = pid.load();
  while (::waitpid(p, &status, 0) < 0 && errno == EINTR) {
  }
  pid = 0;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 1;  // a signal: Consul reports 1 when it cannot tell the code
}

void RemoteExec::Job::kill() {
  if (pid_t p = pid.load(); p > 0) ::kill(-p, SIGKILL);
}

void RemoteExec::Job::run() {
  auto spec = readSpec();
  if (!spec.isOk()) {  // an old event (exec has ended and removed the job): nothing to do
    if (spec.status().code() == StatusCode::kNotFound) {
      LOG_DEBUG(kLog, "remote exec " << session << ": " << spec.status().message());
    } else {
      LOG_WARN(kLog, "remote exec " << session << ": " << spec.status().message());
    }
    finished = true;
    return;
  }
  if (!writeKey("ack", "")) {
    finished = true;
    return;
  }
  int exit_code = 255;
  std::vector<std::string> argv;
  if (!spec->args.empty()) {
    argv = spec->args;
  } else if (!spec->script.empty()) {
    char path[] = "/tmp/cairn-rexec-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd >= 0) {
      script_file = path;
      bool written = ::write(fd, spec->script.data(), spec->script.size()) ==
                     static_cast<ssize_t>(spec->script.size());
      ::fchmod(fd, 0750);
      ::close(fd);
      if (written) argv = {script_file};
    }
  } else {
    argv = {"/bin/sh", "-c", spec->command};
  }
  int fds[2] = {-1, -1};
  if (!argv.empty() && ::pipe2(fds, O_CLOEXEC) == 0) {
    LOG_INFO(kLog, "remote exec " << session << ": running "
                                  << (spec->command.empty() ? argv[0] : spec->command));
    pid_t p = health::spawnInProcessGroup(argv, fds[1]);
    ::close(fds[1]);
    if (p > 0) {
      pid = p;
      bool uploaded = uploadOutput(fds[0], *spec);
      if (!uploaded) kill();  // exec has ended: nobody reads what it prints
      exit_code = reap();
      if (!uploaded) exit_code = 255;
    } else {
      LOG_WARN(kLog, "remote exec " << session << ": spawn: " << std::strerror(-p));
    }
    ::close(fds[0]);
  }
  if (!script_file.empty()) ::unlink(script_file.c_str());
  writeKey("exit", std::to_string(exit_code));
  finished = true;
}

std::unique_ptr<RemoteExec> RemoteExec::startFor(const config::AgentConfig& config, int http_port,
                                                 const std::string& node_name) {
  if (config.disable_remote_exec) return nullptr;
  if (http_port <= 0) {
    LOG_WARN(kLog, "remote exec is enabled but needs the plain HTTP port (ports.http): off");
    return nullptr;
  }
  std::string host = config.http_addr.empty() ? config.client_addr : config.http_addr;
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  Options options;
  options.node_name = node_name;
  options.api.http_addr = "http://" + host + ":" + std::to_string(http_port);
  options.api.token =
      config.acl_agent_token.empty() ? config.acl_default_token : config.acl_agent_token;
  auto runner = std::make_unique<RemoteExec>(std::move(options));
  runner->start();
  LOG_INFO(kLog,
           "remote exec enabled (disable_remote_exec = false): this agent runs the "
           "commands of `exec` jobs addressed to it");
  return runner;
}

RemoteExec::RemoteExec(Options options) : options_(std::move(options)) {}

RemoteExec::~RemoteExec() { stop(); }

void RemoteExec::start() {
  watcher_ = std::thread([this] { watchLoop(); });
}

void RemoteExec::stop() {
  if (stopping_.exchange(true)) return;
  cancel_.cancel();
  if (watcher_.joinable()) watcher_.join();
  std::vector<std::shared_ptr<Job>> jobs;
  {
    std::lock_guard lock(mu_);
    jobs.swap(jobs_);
  }
  for (auto& job : jobs) job->kill();
  for (auto& job : jobs) {
    if (job->thread.joinable()) job->thread.join();
  }
}

void RemoteExec::watchLoop() {
  // The environment is not consulted: the runner talks to its own agent only.
  auto noEnv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto created = ::cairn::client::ApiClient::create(options_.api, noEnv);
  if (!created.isOk()) {
    LOG_ERROR(kLog, "remote exec off: " << created.status().message());
    return;
  }
  ::cairn::client::ApiClient api = created->withCancellation(cancel_).withTimeout(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.list_wait) +
      std::chrono::seconds(15));
  // Events listed at start are handled too: the job of an exec that has ended is gone (exec
  // deletes it, and its session's delete behaviour does if exec died), so they do nothing.
  std::set<std::string> seen;
  uint64_t index = 0;
  while (!stopping_) {
    ::cairn::client::Query q{{"name", kEventName}};
    if (index > 0) {
      q.emplace_back("index", std::to_string(index));
      q.emplace_back("wait", std::to_string(options_.list_wait.count()) + "s");
    }
    auto r = api.send("GET", "/v1/event/list", q);
    if (stopping_) break;
    if (!r.isOk() || r->status != 200) {
      LOG_DEBUG(kLog,
                "listing events: " << (r.isOk() ? ::cairn::client::unexpectedResponse(*r).message()
                                                : r.status().message()));
      std::this_thread::sleep_for(kRetryAfterError);  // a back-off, not a synchronisation
      continue;
    }
    index = r->index;
    Json events;
    try {
      events = Json::parse(r->body);
    } catch (const std::exception&) {
      continue;
    }
    if (!events.is_array()) continue;
    for (const auto& e : events.as_array()) {
      std::string id = stringField(e, "ID");
      if (id.empty() || !seen.insert(id).second) continue;
      if (!nodeFilterMatches(stringField(e, "NodeFilter"), options_.node_name)) continue;
      auto payload = base64Decode(stringField(e, "Payload"));
      if (payload.isOk()) handleEvent(*payload);
    }
  }
}

void RemoteExec::handleEvent(const std::string& payload) {
  Json event;
  try {
    event = Json::parse(payload);
  } catch (const std::exception& e) {
    LOG_WARN(kLog, "remote exec event payload is not JSON: " << e.what());
    return;
  }
  std::string prefix = stringField(event, "Prefix");
  std::string session = stringField(event, "Session");
  if (prefix.empty() || session.empty()) {
    LOG_WARN(kLog, "remote exec event without Prefix or Session");
    return;
  }
  auto noEnv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  auto api = ::cairn::client::ApiClient::create(options_.api, noEnv);
  if (!api.isOk()) return;
  auto job =
      std::make_shared<Job>(api->withCancellation(cancel_), options_.node_name, prefix, session);
  std::lock_guard lock(mu_);
  // Finished jobs leave the list here, so it holds only the ones still running.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if ((*it)->done()) {
      if ((*it)->thread.joinable()) (*it)->thread.join();
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
  job->thread = std::thread([job] { job->run(); });
  jobs_.push_back(std::move(job));
}

}  // namespace cairn::agent
