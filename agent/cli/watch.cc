// `cairn watch`: consul watch's blocking loop for the key, keyprefix, services, service, nodes,
// checks and event types. Without a handler the current value is printed as JSON and the command
// exits (as consul watch does); with one, the handler runs (through sh -c) with the JSON on its
// stdin and CONSUL_INDEX in its environment, once at start and again on every change. A failing
// handler ends the watch with exit code 1.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <thread>

#include "agent/cli/commands.h"

extern char** environ;

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn watch [options] [child...]

  Watches for changes in a given data view from Cairn. If a child process
  is specified, it will be invoked with the latest results on changes.
  Otherwise, the latest values are dumped to stdout and the watch terminates.

  Providing the watch type is required, and other parameters may be required
  or supported depending on the watch type.
)";

constexpr char kWait[] = "30s";  // below the client's 60 s request timeout

struct WatchFlags {
  HttpOptions http;
  std::string type, key, prefix, service, state, name;
  std::vector<std::string> tags;
  bool passing = false;
  bool shell = true;
};

void defineFlags(FlagSet& fs, WatchFlags& f) {
  addHttpFlags(fs, &f.http);
  fs.addString("type", &f.type,
               "Specifies the watch type. One of key, keyprefix, services, "
               "nodes, service, checks, or event.");
  fs.addString("key", &f.key, "Specifies the key to watch. Only for 'key' type.");
  fs.addString("prefix", &f.prefix,
               "Specifies the key prefix to watch. Only for 'keyprefix' type.");
  fs.addString("service", &f.service,
               "Specifies the service to watch. Required for 'service' "
               "type, optional for 'checks' type.");
  fs.addStringList("tag", &f.tags,
                   "Specifies the service tag(s) to filter on. Optional for "
                   "'service' type. May be specified multiple times.");
  fs.addBool("passing", &f.passing,
             "Specifies if only hosts passing all checks are displayed. "
             "Optional for 'service' type, defaults false.");
  fs.addString("state", &f.state, "Specifies the states to watch. Optional for 'checks' type.");
  fs.addString("name", &f.name, "Specifies an event name to watch. Only for 'event' type.");
  fs.addBool("shell", &f.shell,
             "Use a shell to run the command (can set a custom shell via the "
             "SHELL environment variable). The default value is true.");
}

// The endpoint a watch type reads; `single` marks the key type (one object, not a list).
struct Target {
  std::string path;
  Query query;
  bool single = false;
};

StatusOr<Target> targetFor(const WatchFlags& f) {
  auto need = [](bool ok, const char* what) {
    return ok ? Status::ok() : invalidArgument(std::string("Must specify ") + what);
  };
  if (f.type == "key") {
    CAIRN_RETURN_IF_ERROR(need(!f.key.empty(), "a single key to watch"));
    return Target{"/v1/kv/" + f.key, {}, true};
  }
  if (f.type == "keyprefix") {
    CAIRN_RETURN_IF_ERROR(need(!f.prefix.empty(), "a prefix to watch"));
    return Target{"/v1/kv/" + f.prefix, {{"recurse", ""}}, false};
  }
  if (f.type == "services") return Target{"/v1/catalog/services", {}, false};
  if (f.type == "nodes") return Target{"/v1/catalog/nodes", {}, false};
  if (f.type == "service") {
    CAIRN_RETURN_IF_ERROR(need(!f.service.empty(), "a service to watch"));
    Target t{"/v1/health/service/" + f.service, {}, false};
    for (const auto& tag : f.tags) t.query.emplace_back("tag", tag);
    if (f.passing) t.query.emplace_back("passing", "1");
    return t;
  }
  if (f.type == "checks") {
    if (!f.service.empty() && !f.state.empty()) {
      return invalidArgument("Cannot specify service and state");
    }
    if (!f.service.empty()) return Target{"/v1/health/checks/" + f.service, {}, false};
    return Target{
        "/v1/health/state/" + (f.state.empty() ? std::string("any") : f.state), {}, false};
  }
  if (f.type == "event") {
    Target t{"/v1/event/list", {}, false};
    if (!f.name.empty()) t.query.emplace_back("name", f.name);
    return t;
  }
  if (f.type.empty()) return invalidArgument("Must specify watch type");
  return invalidArgument("Unsupported watch type: " + f.type);
}

// The server's ?pretty body, as consul watch prints the decoded value: a missing key or prefix
// is null, and the key type is the single object (its array unwrapped and dedented).
std::string valueJson(const Target& t, const HttpResponse& r) {
  if (r.status == 404) return "null";
  std::string body = r.body;
  while (!body.empty() && body.back() == '\n') body.pop_back();
  if (!t.single) return body;
  std::istringstream lines(body);
  std::vector<std::string> kept;
  for (std::string line; std::getline(lines, line);) kept.push_back(line);
  if (kept.size() < 2) return "null";
  std::string out;
  for (size_t i = 1; i + 1 < kept.size(); ++i) {
    out += (kept[i].rfind("    ", 0) == 0 ? kept[i].substr(4) : kept[i]) +
           (i + 2 < kept.size() ? "\n" : "");
  }
  return out.empty() ? "null" : out;
}

// Runs `command` with `input` on its stdin; its exit status (-1 when it could not start).
int runHandler(const std::vector<std::string>& command, bool shell, const std::string& input,
               uint64_t index) {
  std::vector<std::string> argv_s;
  if (shell) {
    std::string joined;
    for (size_t i = 0; i < command.size(); ++i) joined += (i ? " " : "") + command[i];
    const char* sh = std::getenv("SHELL");
    argv_s = {sh && *sh ? sh : "/bin/sh", "-c", joined};
  } else {
    argv_s = command;
  }
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = {"CONSUL_INDEX=" + std::to_string(index)};
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "CONSUL_INDEX=", 13) != 0) env_s.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    return -1;
  }
  std::string data = input + "\n";
  for (size_t off = 0; off < data.size();) {
    ssize_t n = write(fds[1], data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the handler closed its stdin
    off += static_cast<size_t>(n);
  }
  close(fds[1]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int watchLoop(const ApiClient& api, const Target& t, const WatchFlags& f,
              const std::vector<std::string>& handler, CliIo& io) {
  uint64_t index = 0, last = 0;
  bool first = true;
  while (true) {
    Query q = t.query;
    q.emplace_back("pretty", "");
    if (index > 0) {
      q.emplace_back("index", std::to_string(index));
      q.emplace_back("wait", kWait);
    }
    auto r = api.send("GET", t.path, q, "", true);
    if (!r.isOk() || (r->status != 200 && r->status != 404)) {
      io.err << "Error querying Cairn agent: "
             << (r.isOk() ? unexpectedResponse(*r).message() : r.status().message()) << "\n";
      if (handler.empty()) return 1;
      std::this_thread::sleep_for(std::chrono::seconds(1));  // consul watch retries
      continue;
    }
    uint64_t got = r->index == 0 ? 1 : r->index;
    if (handler.empty()) {
      io.out << valueJson(t, *r) << "\n";
      return 0;
    }
    // Event indexes are hashes: any difference is a change. Others reset when they go back.
    if (first || got != last) {
      first = false;
      last = got;
      io.out.flush();
      int code = runHandler(handler, f.shell, valueJson(t, *r), got);
      if (code != 0) {
        io.err << "Error executing handler: exit status " << code << "\n";
        return 1;
      }
    }
    index = (t.path != "/v1/event/list" && got < index) ? 0 : got;
  }
}

}  // namespace

int runWatch(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  WatchFlags f;
  defineFlags(fs, f);
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  auto target = targetFor(f);
  if (!target.isOk()) {
    io.err << "Failed to parse watch: " << target.status().message() << "\n";
    return 1;
  }
  if (!f.key.empty() && f.key[0] == '/') target->path = "/v1/kv/" + f.key.substr(1);
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  return watchLoop(*api, *target, f, fs.args(), io);
}

}  // namespace cairn::cli
