// `cairn exec`: consul exec, Consul's remote execution job protocol (agent/remote_exec.h has the
// agent's side). The CLI creates a session (renewed while it runs), writes the job spec to
// <prefix>/<session>/job, fires a "_rexec" user event with the -node/-service/-tag filters, then
// follows <prefix>/<session>/ with blocking key listings: each node's ack, output chunks
// (printed prefixed with the node name) and exit code. It stops after -wait without news
// (twice that while a node that acknowledged has not finished, as consul does), or at -timeout,
// then deletes the prefix and destroys the session. Exit code 2 when a node exited non-zero or
// did not finish, as consul.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "agent/cli/event_filters.h"
#include "core/base/duration.h"
#include "core/base/go_encoding.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn exec [options] [-|command...]

  Evaluates a command on remote Cairn nodes. The nodes responding can
  be filtered using regular expressions on node name, service, and tag
  definitions. If a command is '-', stdin will be read until EOF
  and used as a script input.

  Agents run jobs only when their configuration sets
  disable_remote_exec = false (the default is true, as in Consul).
)";

constexpr char kSessionTtl[] = "15s";  // consul exec's rExecTTL
constexpr std::chrono::seconds kRenewEvery{5};
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

struct ExecFlags {
  HttpOptions http;
  std::string node, service, tag, prefix = "_rexec";
  std::string wait = "2s", wait_repl = "200ms", timeout;
  bool shell = true, verbose = false;
};

void defineFlags(FlagSet& fs, ExecFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addString("node", &f.node, "Regular expression to filter on node names.");
  fs.addString("service", &f.service, "Regular expression to filter on service instances.");
  fs.addString("tag", &f.tag,
               "Regular expression to filter on service tags. Must be used with -service.");
  fs.addString("prefix", &f.prefix, "Prefix in the KV store to use for storing request data.");
  fs.addBool("shell", &f.shell, "Use a shell to run the command.");
  fs.addString("wait", &f.wait,
               "Period to wait with no responses before terminating execution (default 2s).");
  fs.addString("wait-repl", &f.wait_repl,
               "Period to wait for replication before firing event (default 200ms; accepted, "
               "Cairn's writes are replicated when acknowledged).");
  fs.addString("timeout", &f.timeout,
               "Cairn: stop waiting after this long even if nodes are still running.");
  fs.addBool("verbose", &f.verbose, "Enables verbose output.");
}

// A flag problem in consul's words; empty when the flags are usable.
std::string validate(const ExecFlags& f) {
  if (std::string problem = eventFilterProblem(f.node, f.service, f.tag); !problem.empty()) {
    return problem;
  }
  if (f.prefix.empty() || f.prefix.find("..") != std::string::npos) return "Invalid -prefix";
  return "";
}

// The session's TTL clock, renewed from a thread of its own until stop().
class SessionRenewer {
 public:
  SessionRenewer(const ApiClient& api, std::string id)
      : api_(api), id_(std::move(id)), thread_([this] { loop(); }) {}
  ~SessionRenewer() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mu_);
      stopped_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, kRenewEvery, [this] { return stopped_; })) {
      lock.unlock();
      (void)api_.send("PUT", "/v1/session/renew/" + id_, {});
      lock.lock();
    }
  }
  const ApiClient& api_;
  std::string id_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

// What one node reported, in the order consul reports it.
struct NodeKey {
  std::string node;
  int kind;  // 0 ack, 1 output, 2 exit
  std::string seq;
  std::string key;
  bool operator<(const NodeKey& o) const {
    return std::tie(node, kind, seq) < std::tie(o.node, o.kind, o.seq);
  }
};

std::optional<NodeKey> classify(const std::string& key, const std::string& dir) {
  if (key.rfind(dir, 0) != 0) return std::nullopt;
  std::string rest = key.substr(dir.size());
  size_t slash = rest.find('/');
  if (slash == std::string::npos) return std::nullopt;  // the job itself
  std::string node = rest.substr(0, slash), what = rest.substr(slash + 1);
  if (what == "ack") return NodeKey{node, 0, "", key};
  if (what == "exit") return NodeKey{node, 2, "", key};
  if (what.rfind("out/", 0) == 0) return NodeKey{node, 1, what.substr(4), key};
  return std::nullopt;
}

class Execution {
 public:
  Execution(const ApiClient& api, const ExecFlags& f, Millis wait, std::optional<Millis> timeout,
            CliIo& io)
      : api_(api), f_(f), wait_(wait), timeout_(timeout), io_(io) {}

  int run(const std::string& spec) {
    if (!createSession()) return 1;
    renewer_.emplace(api_, session_);
    int code = 1;
    if (uploadSpec(spec) && fireEvent()) code = follow();
    renewer_.reset();
    cleanup();
    return code;
  }

 private:
  void error(const std::string& what, const StatusOr<HttpResponse>& r) {
    io_.err << what << ": " << (r.isOk() ? unexpectedResponse(*r).message() : r.status().message())
            << "\n";
  }

  bool createSession() {
    JsonValue body = JsonValue::object();
    body["Name"] = JsonValue::string("Remote Exec");
    body["Behavior"] = JsonValue::string("delete");
    body["TTL"] = JsonValue::string(kSessionTtl);
    auto r = api_.send("PUT", "/v1/session/create", {}, body.serialize());
    if (!r.isOk() || r->status != 200) {
      error("Failed to create session", r);
      return false;
    }
    auto parsed = parseJsonText(r->body);
    session_ = parsed.isOk() ? jsonString(*parsed, "ID") : "";
    if (session_.empty()) {
      io_.err << "Failed to create session: no ID in the answer\n";
      return false;
    }
    if (f_.verbose) io_.out << "Created remote execution session: " << session_ << "\n";
    return true;
  }

  bool uploadSpec(const std::string& spec) {
    auto r = api_.send("PUT", "/v1/kv/" + dir() + "job", {{"acquire", session_}}, spec);
    if (!r.isOk() || r->status != 200 || r->body.find("true") == std::string::npos) {
      error("Failed to upload job", r);
      return false;
    }
    if (f_.verbose) io_.out << "Uploaded remote execution spec\n";
    return true;
  }

  bool fireEvent() {
    JsonValue payload = JsonValue::object();
    payload["Prefix"] = JsonValue::string(f_.prefix);
    payload["Session"] = JsonValue::string(session_);
    Query q;
    if (!f_.node.empty()) q.emplace_back("node", f_.node);
    if (!f_.service.empty()) q.emplace_back("service", f_.service);
    if (!f_.tag.empty()) q.emplace_back("tag", f_.tag);
    auto r = api_.send("PUT", "/v1/event/fire/_rexec", q, payload.serialize());
    if (!r.isOk() || r->status != 200) {
      error("Failed to fire event", r);
      return false;
    }
    auto parsed = parseJsonText(r->body);
    if (f_.verbose) {
      io_.out << "Fired remote execution event: "
              << (parsed.isOk() ? jsonString(*parsed, "ID") : "") << "\n";
    }
    return true;
  }

  std::string dir() const { return f_.prefix + "/" + session_ + "/"; }

  // Follows the job's keys until quiet (or -timeout); the exit code.
  int follow() {
    auto start = Clock::now();
    auto last_news = start;
    std::set<std::string> seen;
    uint64_t index = 0;
    int acks = 0, exits = 0, bad = 0;
    ApiClient blocking = api_.withTimeout(wait_ * 2 + std::chrono::seconds(15));
    for (;;) {
      Millis quiet = acks > exits ? wait_ * 2 : wait_;
      auto deadline = last_news + quiet;
      if (timeout_) deadline = std::min(deadline, start + *timeout_);
      auto now = Clock::now();
      if (now >= deadline) break;
      auto left = std::chrono::duration_cast<Millis>(deadline - now);
      Query q{{"keys", ""}};
      if (index > 0) {
        q.emplace_back("index", std::to_string(index));
        q.emplace_back("wait", std::to_string(std::max<int64_t>(left.count(), 1)) + "ms");
      }
      auto r = blocking.send("GET", "/v1/kv/" + dir(), q);
      if (!r.isOk() || (r->status != 200 && r->status != 404)) {
        error("Failed to read results", r);
        return 1;
      }
      index = r->index;
      if (r->status == 404) continue;
      auto keys = parseJsonText(r->body);
      if (!keys.isOk() || !keys->is_array()) continue;
      std::vector<NodeKey> fresh;
      for (const auto& k : keys->as_array()) {
        if (!k.is_string() || !seen.insert(k.as_string()).second) continue;
        if (auto nk = classify(k.as_string(), dir())) fresh.push_back(*nk);
      }
      std::sort(fresh.begin(), fresh.end());
      for (const NodeKey& k : fresh) {
        last_news = Clock::now();
        if (k.kind == 0) {
          ++acks;
          if (f_.verbose) io_.out << "==> " << k.node << ": acknowledged\n";
          continue;
        }
        auto value = api_.send("GET", "/v1/kv/" + k.key, {{"raw", ""}});
        std::string text = value.isOk() && value->status == 200 ? value->body : "";
        if (k.kind == 1) {
          printOutput(k.node, text);
        } else {
          ++exits;
          int code = std::atoi(text.c_str());
          if (code != 0) ++bad;
          io_.out << "==> " << k.node << ": finished with exit code " << code << "\n";
        }
      }
      io_.out.flush();
    }
    io_.out << exits << " / " << acks << " node(s) completed / acknowledged\n";
    if (f_.verbose) {
      double secs = std::chrono::duration<double>(Clock::now() - start).count();
      char line[64];
      std::snprintf(line, sizeof line, "Completed in %0.2f seconds\n", secs);
      io_.out << line;
    }
    if (exits < acks) ++bad;
    return bad > 0 ? 2 : 0;
  }

  // consul's TargetedUI: every line prefixed with the node's name. An empty chunk is a heartbeat.
  void printOutput(const std::string& node, std::string text) {
    if (text.empty()) {
      if (f_.verbose) io_.out << "==> " << node << ": heartbeat received\n";
      return;
    }
    if (text.back() == '\n') text.pop_back();
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      io_.out << "    " << node << ": " << line << "\n";
    }
  }

  void cleanup() {
    auto deleted = api_.send("DELETE", "/v1/kv/" + dir(), {{"recurse", ""}});
    if (!deleted.isOk() || deleted->status != 200) error("Failed to destroy job data", deleted);
    auto destroyed = api_.send("PUT", "/v1/session/destroy/" + session_, {});
    if (!destroyed.isOk() || destroyed->status != 200) {
      error("Failed to destroy session", destroyed);
    }
  }

  const ApiClient& api_;
  const ExecFlags& f_;
  const Millis wait_;
  const std::optional<Millis> timeout_;
  CliIo& io_;
  std::string session_;
  std::optional<SessionRenewer> renewer_;
};

StatusOr<Millis> durationFlag(const std::string& name, const std::string& text) {
  auto d = parseGoDuration(text);
  if (!d.isOk() || d->count() <= 0) {
    return invalidArgument("invalid value " + goQuote(text) + " for flag -" + name);
  }
  return std::chrono::duration_cast<Millis>(*d);
}

}  // namespace

int runExec(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  ExecFlags f;
  defineFlags(fs, f);
  std::string help = commandHelp(kHelp, fs);
  if (auto code = parseFlags(fs, args, help, io)) return *code;
  if (std::string problem = validate(f); !problem.empty()) {
    io.err << problem << "\n";
    return 1;
  }
  auto wait = durationFlag("wait", f.wait);
  std::optional<Millis> timeout;
  if (!f.timeout.empty()) {
    auto t = durationFlag("timeout", f.timeout);
    if (!t.isOk()) {
      io.err << t.status().message() << "\n";
      return 1;
    }
    timeout = *t;
  }
  if (!wait.isOk()) {
    io.err << wait.status().message() << "\n";
    return 1;
  }
  const std::vector<std::string>& words = fs.args();
  if (words.empty()) {
    io.err << "Must specify a command to execute\n\n" << help;
    return 1;
  }
  JsonValue spec = JsonValue::object();
  if (words.size() == 1 && words[0] == "-") {  // a script from stdin
    std::ostringstream script;
    script << io.in.rdbuf();
    spec["Script"] = JsonValue::string(base64Encode(script.str()));
  } else if (f.shell) {
    std::string command;
    for (const auto& w : words) command += (command.empty() ? "" : " ") + w;
    spec["Command"] = JsonValue::string(command);
  } else {
    std::vector<JsonValue> argv;
    for (const auto& w : words) argv.push_back(JsonValue::string(w));
    spec["Args"] = JsonValue::array(argv);
  }
  spec["Wait"] = JsonValue::number(
      static_cast<int64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(*wait).count()));
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  Execution execution(*api, f, *wait, timeout, io);
  return execution.run(spec.serialize());
}

}  // namespace cairn::cli
