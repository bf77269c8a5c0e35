// `cairn monitor`: consul monitor. Streams the agent's log from GET /v1/agent/monitor at the
// level asked for (-log-level, default info; -log-json for hclog's JSON lines) until interrupted.
// The agent ending the stream is an error, with consul's message.
#include <iostream>

#include "agent/cli/commands.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn monitor [options]

  Shows recent log messages of a Cairn agent, and attaches to the agent,
  outputting log messages as they occur in real time. The monitor lets you
  listen for log levels that may be filtered out of the agent's own log
  (the agent's -log-level does not limit it). Exit with Ctrl-C.
)";

// The head must come back quickly; after it, the log may stay quiet for as long as it likes.
constexpr std::chrono::hours kQuietAllowed{24 * 365};

}  // namespace

int runMonitor(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  std::string level = "info";
  bool json = false;
  addHttpFlags(fs, &http);
  fs.addString("log-level", &level,
               "Log level of the agent (trace, debug, info, warn, err). Defaults to info.");
  fs.addBool("log-json", &json, "Output logs in JSON format.");
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  if (!fs.args().empty()) {
    io.err << "This command takes no arguments\n";
    return 1;
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  Query q{{"loglevel", level}};
  if (json) q.emplace_back("logjson", "");
  auto streamed =
      api->withTimeout(kQuietAllowed).stream("/v1/agent/monitor", q, [&io](std::string_view piece) {
        io.out << piece;
        io.out.flush();
        return static_cast<bool>(io.out);
      });
  if (!streamed.isOk()) {
    io.err << "Error starting monitor: " << streamed.status().message() << "\n";
    return 1;
  }
  if (streamed->status != 200) {
    io.err << "Error starting monitor: " << unexpectedResponse(*streamed).message() << "\n";
    return 1;
  }
  io.err << "Remote side ended the monitor! This usually means that the\n"
            "remote side has exited or crashed.\n";
  return 1;
}

}  // namespace cairn::cli
