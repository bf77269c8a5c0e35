// `cairn operator autopilot get-config|state`: consul operator autopilot's output. The state is
// assembled from GET /v1/operator/autopilot/health (Cairn has no /v1/operator/autopilot/state):
// the same servers, health and failure tolerance, printed in consul's layout.
#include <iostream>
#include <map>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "core/base/go_encoding.h"

namespace cairn::cli {
namespace {

constexpr char kAutopilotUsage[] = R"(Usage: cairn operator autopilot <subcommand> [options]

  The Autopilot operator command is used to read Autopilot's configuration and
  the state of the servers it watches.

Subcommands:
    get-config    Display the current Autopilot configuration
    state         Display the current Autopilot state
)";

constexpr char kGetConfigHelp[] = R"(Usage: cairn operator autopilot get-config [options]

  Displays the current Autopilot configuration (Consul's defaults: Cairn has no
  autopilot setting to change yet).
)";

constexpr char kStateHelp[] = R"(Usage: cairn operator autopilot state [options]

  Displays the current Autopilot state: health, failure tolerance and every
  server of the Raft configuration.
)";

std::string field(const JsonValue& v, const char* name) {
  return v.is_object() && v.has_field(name) ? jsonScalarText(v.at(name)) : "";
}

void printServer(const JsonValue& s, CliIo& io) {
  bool leader = jsonBool(s, "Leader");
  io.out << "   " << jsonString(s, "ID") << "\n";
  auto line = [&io](const char* name, const std::string& value) {
    std::string label = std::string(name) + ":";
    io.out << "      " << label << std::string(label.size() < 17 ? 17 - label.size() : 1, ' ')
           << value << "\n";
  };
  line("Name", jsonString(s, "Name"));
  line("Address", jsonString(s, "Address"));
  line("Version", jsonString(s, "Version"));
  line("Status", leader ? "leader" : (jsonBool(s, "Voter") ? "voter" : "non-voter"));
  line("Node Type", jsonBool(s, "Voter") ? "voter" : "non-voter");
  line("Node Status", jsonString(s, "SerfStatus"));
  line("Healthy", jsonBool(s, "Healthy") ? "true" : "false");
  line("Last Contact", jsonString(s, "LastContact"));
  line("Last Term", field(s, "LastTerm"));
  line("Last Index", field(s, "LastIndex"));
}

}  // namespace

int runOperatorAutopilotGetConfig(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kGetConfigHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto conf = getJson(*api, "/v1/operator/autopilot/configuration");
  if (!conf.isOk()) {
    io.err << "Error querying Autopilot configuration: " << conf.status().message() << "\n";
    return 1;
  }
  for (const char* name : {"CleanupDeadServers", "LastContactThreshold", "MaxTrailingLogs",
                           "MinQuorum", "ServerStabilizationTime"}) {
    io.out << name << " = " << field(*conf, name) << "\n";
  }
  io.out << "RedundancyZoneTag = " << goQuote(jsonString(*conf, "RedundancyZoneTag")) << "\n";
  io.out << "DisableUpgradeMigration = " << field(*conf, "DisableUpgradeMigration") << "\n";
  io.out << "UpgradeVersionTag = " << goQuote(jsonString(*conf, "UpgradeVersionTag")) << "\n";
  return 0;
}

int runOperatorAutopilotState(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kStateHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto fail = [&io](const std::string& why) {
    io.err << "Error querying Autopilot state: " << why << "\n";
    return 1;
  };
  // 429 is an unhealthy cluster's answer, with the same body.
  auto response = api->send("GET", "/v1/operator/autopilot/health", {});
  if (!response.isOk()) return fail(response.status().message());
  if (response->status != 200 && response->status != 429) {
    return fail(unexpectedResponse(*response).message());
  }
  auto health = parseJsonText(response->body);
  if (!health.isOk()) return fail(health.status().message());
  const JsonValue kEmpty = JsonValue::array();
  const JsonValue& servers = health->has_field("Servers") && health->at("Servers").is_array()
                                 ? health->at("Servers")
                                 : kEmpty;
  std::string leader;
  std::vector<std::string> voters;
  for (const JsonValue& s : servers.as_array()) {
    if (jsonBool(s, "Leader")) leader = jsonString(s, "ID");
    if (jsonBool(s, "Voter")) voters.push_back(jsonString(s, "ID"));
  }
  io.out << "Healthy:                      " << (jsonBool(*health, "Healthy") ? "true" : "false")
         << "\nFailure Tolerance:            " << field(*health, "FailureTolerance")
         << "\nLeader:                       " << leader << "\nVoters:\n";
  for (const std::string& v : voters) io.out << "   " << v << "\n";
  io.out << "\nServers:\n";
  for (const JsonValue& s : servers.as_array()) printServer(s, io);
  return 0;
}

int runOperatorAutopilot(const std::vector<std::string>& args, CliIo& io) {
  static const std::map<std::string, Subcommand> kCommands = {
      {"get-config", runOperatorAutopilotGetConfig},
      {"state", runOperatorAutopilotState},
  };
  return dispatchSubcommand("operator autopilot", kAutopilotUsage, kCommands, args, io);
}

}  // namespace cairn::cli
