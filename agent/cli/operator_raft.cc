// `cairn operator raft list-peers|remove-peer|transfer-leader`: consul operator raft's flags,
// output and exit codes.
#include <iostream>
#include <map>

#include "agent/cli/commands.h"
#include "agent/cli/operator_format.h"
#include "core/base/go_encoding.h"

namespace cairn::cli {
namespace {

constexpr char kOperatorUsage[] = R"(Usage: cairn operator <subcommand> [options]

  Provides cluster-level tools for Cairn operators, such as interacting with
  the Raft subsystem.

Subcommands:
    autopilot    Provides tools for Autopilot's configuration and state
    raft         Provides cluster-level tools for interacting with Raft
)";

constexpr char kRaftUsage[] = R"(Usage: cairn operator raft <subcommand> [options]

  The Raft operator command is used to interact with Cairn's Raft subsystem.

      $ cairn operator raft list-peers
      $ cairn operator raft remove-peer -address=10.0.1.8:8300
      $ cairn operator raft transfer-leader -id=<node-id>

Subcommands:
    list-peers         Display the current Raft peer configuration
    remove-peer        Remove a Cairn server from the Raft configuration
    transfer-leader    Transfer Raft leadership to another server
)";

constexpr char kListPeersHelp[] = R"(Usage: cairn operator raft list-peers [options]

  Displays the current Raft peer configuration.
)";

constexpr char kRemovePeerHelp[] = R"(Usage: cairn operator raft remove-peer [options]

  Remove the Cairn server with given -address or -id from the Raft
  configuration. Use this for a server that failed and will not come back.
)";

constexpr char kTransferLeaderHelp[] = R"(Usage: cairn operator raft transfer-leader [options]

  Transfer Raft leadership to another server: the one with -id, or the most
  up-to-date voter.
)";

std::optional<int> noArguments(const FlagSet& fs, CliIo& io) {
  if (fs.args().empty()) return std::nullopt;
  io.err << "Too many arguments (expected 0, got " << fs.args().size() << ")\n";
  return 1;
}

}  // namespace

int runOperatorRaftListPeers(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kListPeersHelp, fs), io)) return *code;
  if (auto code = noArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto fail = [&io](const std::string& why) {
    io.err << "Error getting peers: Failed to retrieve raft configuration: " << why << "\n";
    return 1;
  };
  auto response = api->send("GET", "/v1/operator/raft/configuration", {}, "", true);
  if (!response.isOk()) return fail(response.status().message());
  if (response->status != 200) return fail(unexpectedResponse(*response).message());
  auto peers = parseRaftConfiguration(response->body);
  if (!peers.isOk()) return fail(peers.status().message());
  io.out << formatPeerTable(*peers) << "\n";
  return 0;
}

int runOperatorRaftRemovePeer(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  std::string address, id;
  addHttpFlags(fs, &http);
  fs.addString("address", &address, "The address to remove from the Raft configuration.");
  fs.addString("id", &id, "The ID to remove from the Raft configuration.");
  if (auto code = parseFlags(fs, args, commandHelp(kRemovePeerHelp, fs), io)) return *code;
  if (auto code = noArguments(fs, io)) return *code;
  auto fail = [&io](const std::string& why) {
    io.err << "Error removing peer: " << why << "\n";
    return 1;
  };
  if (address.empty() && id.empty())
    return fail("an address or id is required for the peer to remove");
  if (!address.empty() && !id.empty()) return fail("cannot give both an address and id");
  auto api = connectApi(http, io);
  if (!api) return 1;
  Query query = {address.empty() ? std::pair<std::string, std::string>{"id", id}
                                 : std::pair<std::string, std::string>{"address", address}};
  auto response = api->send("DELETE", "/v1/operator/raft/peer", query);
  if (!response.isOk()) return fail(response.status().message());
  if (response->status != 200) return fail(unexpectedResponse(*response).message());
  if (!address.empty()) {
    io.out << "Removed peer with address " << goQuote(address) << "\n";
  } else {
    io.out << "Removed peer with id " << goQuote(id) << "\n";
  }
  return 0;
}

int runOperatorRaftTransferLeader(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  std::string id;
  addHttpFlags(fs, &http);
  fs.addString("id", &id, "The ID of the node to transfer leadership to.");
  if (auto code = parseFlags(fs, args, commandHelp(kTransferLeaderHelp, fs), io)) return *code;
  if (auto code = noArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto fail = [&io](const std::string& why) {
    io.err << "Error transfering leadership: Failed to transfer leadership" << why << "\n";
    return 1;
  };
  Query query;
  if (!id.empty()) query.emplace_back("id", id);
  auto response = api->send("POST", "/v1/operator/raft/transfer-leader", query);
  if (!response.isOk()) return fail(" " + response.status().message());
  if (response->status != 200) return fail(" " + unexpectedResponse(*response).message());
  if (response->body.find("\"Success\":true") == std::string::npos) return fail("");
  io.out << "Success\n";
  return 0;
}

int runOperatorRaft(const std::vector<std::string>& args, CliIo& io) {
  static const std::map<std::string, Subcommand> kCommands = {
      {"list-peers", runOperatorRaftListPeers},
      {"remove-peer", runOperatorRaftRemovePeer},
      {"transfer-leader", runOperatorRaftTransferLeader},
  };
  return dispatchSubcommand("operator raft", kRaftUsage, kCommands, args, io);
}

int runOperator(const std::vector<std::string>& args, CliIo& io) {
  static const std::map<std::string, Subcommand> kCommands = {
      {"raft", runOperatorRaft},
      {"autopilot", runOperatorAutopilot},
  };
  return dispatchSubcommand("operator", kOperatorUsage, kCommands, args, io);
}

}  // namespace cairn::cli
