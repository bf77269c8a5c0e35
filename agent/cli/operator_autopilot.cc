// `cairn operator autopilot get-config|set-config|state`: consul operator autopilot's output.
// set-config reads the configuration, changes what its flags name and writes it back with
// ?cas=<ModifyIndex> (PUT /v1/operator/autopilot/configuration). The state is
// assembled from GET /v1/operator/autopilot/health (Cairn has no /v1/operator/autopilot/state):
// the same servers, health and failure tolerance, printed in consul's layout.
#include <iostream>
#include <map>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "core/base/duration.h"
#include "core/base/go_encoding.h"

namespace cairn::cli {
namespace {

constexpr char kAutopilotUsage[] = R"(Usage: cairn operator autopilot <subcommand> [options]

  The Autopilot operator command is used to read Autopilot's configuration and
  the state of the servers it watches.

Subcommands:
    get-config    Display the current Autopilot configuration
    set-config    Modify the current Autopilot configuration
    state         Display the current Autopilot state
)";

constexpr char kGetConfigHelp[] = R"(Usage: cairn operator autopilot get-config [options]

  Displays the current Autopilot configuration (Consul's defaults until
  "cairn operator autopilot set-config" changes it).
)";

constexpr char kSetConfigHelp[] = R"(Usage: cairn operator autopilot set-config [options]

  Modifies the current Autopilot configuration: only the settings given change.
  The configuration is replicated to every server. Cairn stores and serves it;
  its own server health rules do not follow it yet.
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

namespace {

// The flags of set-config, applied to the current configuration only when given.
struct AutopilotFlags {
  bool cleanup = false, no_migration = false;
  uint64_t trailing = 0, quorum = 0;
  std::string contact, stabilization, zone_tag, version_tag;
};

Status applyFlags(const FlagSet& fs, const AutopilotFlags& f, JsonValue& conf) {
  auto duration = [&](const char* flag, const std::string& text, const char* field) -> Status {
    if (!fs.isSet(flag)) return Status::ok();
    auto d = parseGoDuration(text);
    if (!d.isOk() || d->count() < 0) {
      return invalidArgument("invalid value " + goQuote(text) + " for flag -" + flag);
    }
    conf[field] = JsonValue::string(formatGoDuration(*d));
    return Status::ok();
  };
  CAIRN_RETURN_IF_ERROR(duration("last-contact-threshold", f.contact, "LastContactThreshold"));
  CAIRN_RETURN_IF_ERROR(
      duration("server-stabilization-time", f.stabilization, "ServerStabilizationTime"));
  if (fs.isSet("cleanup-dead-servers")) conf["CleanupDeadServers"] = JsonValue::boolean(f.cleanup);
  if (fs.isSet("disable-upgrade-migration")) {
    conf["DisableUpgradeMigration"] = JsonValue::boolean(f.no_migration);
  }
  if (fs.isSet("max-trailing-logs")) conf["MaxTrailingLogs"] = JsonValue::number(f.trailing);
  if (fs.isSet("min-quorum")) conf["MinQuorum"] = JsonValue::number(f.quorum);
  if (fs.isSet("redundancy-zone-tag")) conf["RedundancyZoneTag"] = JsonValue::string(f.zone_tag);
  if (fs.isSet("upgrade-version-tag")) conf["UpgradeVersionTag"] = JsonValue::string(f.version_tag);
  return Status::ok();
}

}  // namespace

int runOperatorAutopilotSetConfig(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  AutopilotFlags f;
  addHttpFlags(fs, &http);
  fs.addBool("cleanup-dead-servers", &f.cleanup,
             "Controls whether Cairn will automatically remove dead servers when new ones are "
             "successfully added. Must be one of `true|false`.");
  fs.addUint64("max-trailing-logs", &f.trailing,
               "Controls the maximum number of log entries that a server can trail the leader by "
               "before being considered unhealthy.");
  fs.addUint64("min-quorum", &f.quorum,
               "Sets the minimum number of servers required in a cluster before autopilot can "
               "prune dead servers.");
  fs.addString("last-contact-threshold", &f.contact,
               "Controls the maximum amount of time a server can go without contact from the "
               "leader before being considered unhealthy. Must be a duration value such as "
               "`200ms`.");
  fs.addString("server-stabilization-time", &f.stabilization,
               "Controls the minimum amount of time a server must be stable in the 'healthy' "
               "state before being added to the cluster. Must be a duration value such as "
               "`10s`.");
  fs.addBool("disable-upgrade-migration", &f.no_migration,
             "(Enterprise-only) Controls whether Cairn will avoid promoting new servers until it "
             "can perform a migration. Must be one of `true|false`.");
  fs.addString("redundancy-zone-tag", &f.zone_tag,
               "(Enterprise-only) Controls the node_meta tag name used for separating servers "
               "into different redundancy zones.");
  fs.addString("upgrade-version-tag", &f.version_tag,
               "(Enterprise-only) The custom version tag to use when migrating servers.");
  if (auto code = parseFlags(fs, args, commandHelp(kSetConfigHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto conf = getJson(*api, "/v1/operator/autopilot/configuration");
  if (!conf.isOk()) {
    io.err << "Error querying Autopilot configuration: " << conf.status().message() << "\n";
    return 1;
  }
  if (Status s = applyFlags(fs, f, *conf); !s.isOk()) {
    io.err << s.message() << "\n";
    return 1;
  }
  // Check-and-set on the ModifyIndex read: a change in between is not overwritten.
  std::string cas = std::to_string(jsonUint(*conf, "ModifyIndex"));
  auto r =
      api->send("PUT", "/v1/operator/autopilot/configuration", {{"cas", cas}}, conf->serialize());
  if (r.isOk() && r->status != 200) r = unexpectedResponse(*r);
  if (!r.isOk()) {
    io.err << "Error setting Autopilot configuration: " << r.status().message() << "\n";
    return 1;
  }
  if (r->body.find("true") != std::string::npos) {
    io.out << "Configuration updated!\n";
    return 0;
  }
  io.out << "Configuration could not be atomically updated, please try again\n";
  return 1;
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
      {"set-config", runOperatorAutopilotSetConfig},
      {"state", runOperatorAutopilotState},
  };
  return dispatchSubcommand("operator autopilot", kAutopilotUsage, kCommands, args, io);
}

}  // namespace cairn::cli
