// `cairn reload`, `cairn maint` and `cairn info`: consul's commands of the same names over
// PUT /v1/agent/reload, /v1/agent/maintenance (+ service/maintenance) and GET /v1/agent/self.
#include <algorithm>
#include <iostream>
#include <map>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "core/base/go_encoding.h"

namespace cairn::cli {
namespace {

constexpr char kReloadHelp[] = R"(Usage: cairn reload [options]

  Causes the agent to reload its configuration files: service and check
  definitions are registered, updated or removed to match them. The same as
  sending the agent a SIGHUP.
)";

constexpr char kMaintHelp[] = R"(Usage: cairn maint [options]

  Places a node or service into maintenance mode (a critical check that removes
  it from DNS and health queries), takes it out, or, without -enable or
  -disable, lists what is in maintenance on the agent.

      $ cairn maint -enable -reason="kernel upgrade"
      $ cairn maint -disable -service=web
)";

constexpr char kInfoHelp[] = R"(Usage: cairn info [options]

  Provides debugging information for operators: the agent's configuration and
  statistics from /v1/agent/self, grouped by section.
)";

constexpr char kNodeMaintCheck[] = "_node_maintenance";
constexpr char kServiceMaintPrefix[] = "_service_maintenance:";

// Consul's listing of the maintenance checks of GET /v1/agent/checks.
int listMaintenance(const ApiClient& api, CliIo& io) {
  auto checks = getJson(api, "/v1/agent/checks");
  if (!checks.isOk()) {
    io.err << "Error reading agent checks: " << checks.status().message() << "\n";
    return 1;
  }
  if (!checks->is_object()) return 0;
  for (const auto& [id, check] : checks->as_object()) {
    if (id == kNodeMaintCheck) {
      io.out << "Node:\n  Name:   " << jsonString(check, "Node")
             << "\n  Reason: " << jsonString(check, "Notes") << "\n\n";
    } else if (id.rfind(kServiceMaintPrefix, 0) == 0) {
      io.out << "Service:\n  ID:     " << jsonString(check, "ServiceID")
             << "\n  Reason: " << jsonString(check, "Notes") << "\n\n";
    }
  }
  return 0;
}

}  // namespace

int runReload(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kReloadHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  if (Status s = sendPut(*api, "/v1/agent/reload", {}); !s.isOk()) {
    io.err << "Error reloading: " << s.message() << "\n";
    return 1;
  }
  io.out << "Configuration reload triggered\n";
  return 0;
}

int runMaint(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  bool enable = false, disable = false;
  std::string service, reason;
  addHttpFlags(fs, &http);
  fs.addBool("enable", &enable, "Enable maintenance mode.");
  fs.addBool("disable", &disable, "Disable maintenance mode.");
  fs.addString("reason", &reason, "Text describing the maintenance reason (with -enable).");
  fs.addString("service", &service,
               "The ID of the service to put in maintenance (default: the node).");
  if (auto code = parseFlags(fs, args, commandHelp(kMaintHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  if (enable && disable) {
    io.err << "Only one of -enable or -disable may be provided\n";
    return 1;
  }
  if (!enable && !reason.empty()) {
    io.err << "The -reason flag requires -enable\n";
    return 1;
  }
  if (!enable && !disable && !service.empty()) {
    io.err << "The -service flag requires -enable or -disable\n";
    return 1;
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  if (!enable && !disable) return listMaintenance(*api, io);
  Query query = {{"enable", enable ? "true" : "false"}};
  if (enable && !reason.empty()) query.emplace_back("reason", reason);
  std::string path =
      service.empty() ? "/v1/agent/maintenance" : "/v1/agent/service/maintenance/" + service;
  if (Status s = sendPut(*api, path, query); !s.isOk()) {
    io.err << "Error " << (enable ? "enabling" : "disabling") << " "
           << (service.empty() ? "node" : "service") << " maintenance: " << s.message() << "\n";
    return 1;
  }
  const char* state = enable ? "enabled" : "disabled";
  if (service.empty()) {
    io.out << "Node maintenance is now " << state << "\n";
  } else {
    io.out << "Service maintenance is now " << state << " for " << goQuote(service) << "\n";
  }
  return 0;
}

namespace {

// One "section:" of `info`, its entries sorted as consul prints its Stats map.
void printSection(const std::string& name, const JsonValue& obj, CliIo& io) {
  if (!obj.is_object() || obj.as_object().size() == 0) return;
  std::vector<std::pair<std::string, std::string>> entries;
  for (const auto& [k, v] : obj.as_object()) {
    entries.emplace_back(k, v.is_object() || v.is_array() ? v.serialize() : jsonScalarText(v));
  }
  std::sort(entries.begin(), entries.end());
  io.out << name << ":\n";
  for (const auto& [k, v] : entries) io.out << "\t" << k << " = " << v << "\n";
}

}  // namespace

int runInfo(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  addHttpFlags(fs, &http);
  if (auto code = parseFlags(fs, args, commandHelp(kInfoHelp, fs), io)) return *code;
  if (auto code = rejectArguments(fs, io)) return *code;
  auto api = connectApi(http, io);
  if (!api) return 1;
  auto self = getJson(*api, "/v1/agent/self");
  if (!self.isOk()) {
    io.err << "Error querying agent: " << self.status().message() << "\n";
    return 1;
  }
  if (!self->is_object()) return 0;
  // Consul prints only Stats; Cairn's agent/self has its figures in these objects instead.
  for (const auto& [name, section] : self->as_object()) {
    if (name == "Stats" && section.is_object()) {
      for (const auto& [sub, values] : section.as_object()) printSection(sub, values, io);
    } else if (name != "Meta" && name != "Coord") {
      printSection(name, section, io);
    }
  }
  return 0;
}

}  // namespace cairn::cli
