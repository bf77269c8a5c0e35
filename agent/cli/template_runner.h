#pragma once
// `cairn template`'s runner: consul-template's loop over core/template.
//
// Each template is rendered; every dependency a render touched gets a DependencyWatcher, a thread
// that keeps one blocking query (index-tracked, never polling) on its endpoint and stores each
// new answer. A change wakes the main loop, which re-renders (after the -wait quiet period),
// writes outputs that changed (temp file + rename, keeping the file's mode), runs their commands
// once each, and restarts or signals the -exec child. Renders that still miss data are not
// written. The pure parts (flag syntaxes, the quiet-period clock, file writes) are declared here
// for unit tests; docs/template.md describes the behaviour.
//
// Threading: runTemplates runs the main loop on the calling thread, plus one thread per
// dependency and one that waits for signals (SIGINT, SIGTERM, SIGHUP, SIGCHLD are blocked in
// every thread and taken by sigwait there).

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "agent/cli/cli_common.h"
#include "core/base/duration.h"
#include "core/base/status.h"

namespace cairn::cli {

// -template "in:out[:command]"; the command may itself contain ':'.
struct TemplateSpec {
  std::string source;
  std::string destination;
  std::string command;
};
StatusOr<TemplateSpec> parseTemplateSpec(const std::string& flag);

// -wait "min[:max]"; max defaults to 4 × min, as in consul-template.
struct WaitSpec {
  Nanos min{0};
  Nanos max{0};
};
StatusOr<WaitSpec> parseWaitSpec(const std::string& flag);

// A signal's number from "SIGHUP", "HUP" or "1"; empty → 0 (none).
StatusOr<int> parseSignalName(const std::string& name);

// The -wait clock: after a change, render once no change came for `min`, or `max` after the
// first unrendered change, whichever is sooner.
class Quiescence {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Quiescence(WaitSpec wait) : wait_(wait) {}
  void change(Clock::time_point now);
  bool pending() const { return pending_; }
  // When the pending render is due (only meaningful while pending()).
  Clock::time_point due() const;
  void rendered() { pending_ = false; }

 private:
  WaitSpec wait_;
  bool pending_ = false;
  Clock::time_point quiet_until_{};
  Clock::time_point max_until_{};
};

// Writes `content` to `path` through a temporary file in the same directory and rename(2), so
// readers see the old or the new file, never a part. An existing file keeps its mode (a new one
// gets 0644); missing parent directories are created.
Status writeFileAtomically(const std::string& path, const std::string& content);
// The file's content, or nullopt when it does not exist or cannot be read.
std::optional<std::string> readFile(const std::string& path);

struct TemplateRunOptions {
  std::vector<TemplateSpec> templates;
  WaitSpec wait;
  bool once = false;
  bool dry = false;    // print renders to stdout instead of writing them
  bool quiet = false;  // -log-level warn/err: no [INFO] lines
  std::string exec_command;
  int exec_reload_signal = 0;  // 0: restart the child on a change
  int exec_kill_signal = 15;
  Nanos exec_kill_timeout = std::chrono::seconds(30);
};

// Runs until -once is done, the -exec child exits (its exit code), a signal stops it (0), or an
// error (1: a template that does not parse or render, an agent unreachable for ~1 minute).
int runTemplates(const TemplateRunOptions& options, const HttpOptions& http, CliIo& io);

}  // namespace cairn::cli
