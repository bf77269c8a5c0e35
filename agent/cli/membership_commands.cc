// `cairn join`, `cairn leave`, `cairn force-leave`: consul's commands, flags, output and exit
// codes, over PUT /v1/agent/join/<address>, /v1/agent/leave and /v1/agent/force-leave/<node>
// (docs/agent.md, "Membership").
#include <iostream>

#include "agent/cli/commands.h"

namespace cairn::cli {
namespace {

constexpr char kJoinHelp[] = R"(Usage: cairn join [options] address ...

  Tells a running Cairn agent (with "cairn agent") to join the cluster
  by specifying at least one existing member. A server only accepts the
  addresses of its own cluster's servers (servers enter a cluster at start,
  with -retry-join); see docs/agent.md.
)";

constexpr char kLeaveHelp[] = R"(Usage: cairn leave [options]

  Causes the agent to gracefully leave the Cairn cluster and shutdown.
)";

constexpr char kForceLeaveHelp[] = R"(Usage: cairn force-leave [options] name

  Forces a member of a Cairn cluster to enter the "left" state. Note
  that if the member is still actually alive, it will eventually rejoin
  the cluster. The client agent's node is removed from the catalog. With
  -prune the member is removed from the member list at once.
)";

// The server's error text, or the transport error.
std::string failure(const StatusOr<HttpResponse>& r) {
  if (!r.isOk()) return r.status().message();
  return unexpectedResponse(*r).message();
}

}  // namespace

int runJoin(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  bool wan = false;
  addHttpFlags(fs, &http);
  fs.addBool("wan", &wan, "Joins a server to another server in the WAN pool.");
  if (auto code = parseFlags(fs, args, commandHelp(kJoinHelp, fs), io)) return *code;
  if (fs.args().empty()) {
    io.err << "At least one address to join must be specified.\n";
    return 1;
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  int joined = 0;
  for (const std::string& address : fs.args()) {
    Query query;
    if (wan) query.emplace_back("wan", "1");
    auto r = api->send("PUT", "/v1/agent/join/" + address, query);
    if (r.isOk() && r->status == 200) {
      ++joined;
    } else {
      io.err << "Error joining address '" << address << "': " << failure(r) << "\n";
    }
  }
  if (joined == 0) {
    io.err << "Failed to join any nodes.\n";
    return 1;
  }
  io.out << "Successfully joined cluster by contacting " << joined << " nodes.\n";
  return 0;
}

int runLeave(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kLeaveHelp, fs), io)) return *code;
  if (!fs.args().empty()) {
    io.err << "This command takes no arguments\n" << commandHelp(kLeaveHelp, fs);
    return 1;
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto r = api->send("PUT", "/v1/agent/leave", {});
  if (!r.isOk() || r->status != 200) {
    io.err << "Error leaving: " << failure(r) << "\n";
    return 1;
  }
  io.out << "Graceful leave complete\n";
  return 0;
}

int runForceLeave(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  bool prune = false, wan = false;
  addHttpFlags(fs, &http);
  fs.addBool("prune", &prune, "Remove agent forcibly from list of members");
  fs.addBool("wan", &wan, "Exclusively leave the agent from the WAN serf pool.");
  if (auto code = parseFlags(fs, args, commandHelp(kForceLeaveHelp, fs), io)) return *code;
  if (fs.args().size() != 1) {
    io.err << "A single node name must be specified to force leave.\n"
           << commandHelp(kForceLeaveHelp, fs);
    return 1;
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  Query query;
  if (prune) query.emplace_back("prune", "1");
  if (wan) query.emplace_back("wan", "1");
  auto r = api->send("PUT", "/v1/agent/force-leave/" + fs.args()[0], query);
  if (!r.isOk() || r->status != 200) {
    io.err << "Error force leaving: " << failure(r) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace cairn::cli
