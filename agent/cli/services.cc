// `cairn services register|deregister`: consul services' flags and output. Definitions come from
// config files (JSON, YAML or HCL: the agent's own loader, so a file the agent accepts at start
// registers the same here) or from flags, and go to PUT /v1/agent/service/register|deregister.
#include <iostream>
#include <map>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "core/base/go_encoding.h"
#include "core/config/config_file.h"

namespace cairn::cli {
namespace {

constexpr char kServicesUsage[] = R"(Usage: cairn services <subcommand> [options] [args]

  This command has subcommands for registering and deregistering services with
  the local agent, with the same flags and output as "consul services".

      $ cairn services register web.json
      $ cairn services register -name=web -port=8080 -tag=v1
      $ cairn services deregister -id=web

Subcommands:
    deregister    Deregister services with the local agent
    register      Register services with the local agent
)";

constexpr char kRegisterHelp[] = R"(Usage: cairn services register [options] [FILE...]

  Registers a service with the local agent: every service definition of the
  given config files (JSON, YAML or HCL, with "service" or "services" as in an
  agent config file), or one service described by the flags.
)";

constexpr char kDeregisterHelp[] = R"(Usage: cairn services deregister [options] [FILE...]

  Deregisters a service from the local agent: the one with -id, or every service
  defined in the given files (by its id, else its name).
)";

struct Service {
  std::string id, name, json;
};

// The field written in snake_case or CamelCase (the agent accepts both).
std::string either(const JsonValue& v, const char* camel, const char* snake) {
  std::string s = jsonString(v, camel);
  return s.empty() ? jsonString(v, snake) : s;
}

// Every service definition of `files`, read by the agent's config loader.
StatusOr<std::vector<Service>> servicesFromFiles(const std::vector<std::string>& files) {
  std::vector<Service> out;
  for (const std::string& file : files) {
    config::AgentConfig loaded;
    CAIRN_RETURN_IF_ERROR(config::applyConfigFile(file, loaded));
    if (loaded.services.empty()) {
      return invalidArgument("config file " + file + ": no service definition in it");
    }
    for (const auto& d : loaded.services) {
      auto v = parseJsonText(d.json);
      if (!v.isOk()) return v.status();
      out.push_back({either(*v, "ID", "id"), either(*v, "Name", "name"), d.json});
    }
  }
  return out;
}

struct ServiceFlags {
  std::string name, id, address;
  int port = 0;
  std::vector<std::string> tags, meta;
};

StatusOr<std::vector<Service>> servicesFromFlags(const ServiceFlags& f) {
  if (f.name.empty()) return invalidArgument("Service name is required (-name or a file)");
  JsonValue v = JsonValue::object();
  v["Name"] = JsonValue::string(f.name);
  if (!f.id.empty()) v["ID"] = JsonValue::string(f.id);
  if (!f.address.empty()) v["Address"] = JsonValue::string(f.address);
  if (f.port != 0) v["Port"] = JsonValue::number(f.port);
  if (!f.tags.empty()) {
    JsonValue tags = JsonValue::array();
    for (size_t i = 0; i < f.tags.size(); ++i) tags[i] = JsonValue::string(f.tags[i]);
    v["Tags"] = tags;
  }
  if (!f.meta.empty()) {
    JsonValue meta = JsonValue::object();
    for (const std::string& pair : f.meta) {
      size_t eq = pair.find('=');
      if (eq == std::string::npos || eq == 0) {
        return invalidArgument("Error parsing -meta " + pair + ": want key=value");
      }
      meta[pair.substr(0, eq)] = JsonValue::string(pair.substr(eq + 1));
    }
    v["Meta"] = meta;
  }
  return std::vector<Service>{{f.id, f.name, v.serialize()}};
}

}  // namespace

int runServicesRegister(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  ServiceFlags f;
  addHttpFlags(fs, &http);
  fs.addString("name", &f.name, "Name of the service to register (without a file).");
  fs.addString("id", &f.id, "ID of the service to register (default: its name).");
  fs.addString("address", &f.address, "Address of the service (default: the node's).");
  fs.addInt("port", &f.port, "Port of the service.");
  fs.addStringList("tag", &f.tags, "A tag of the service; repeatable.");
  fs.addStringList("meta", &f.meta, "Metadata of the service as key=value; repeatable.");
  if (auto code = parseFlags(fs, args, commandHelp(kRegisterHelp, fs), io)) return *code;
  bool flags_given = fs.isSet("name") || fs.isSet("id") || fs.isSet("port") || fs.isSet("tag") ||
                     fs.isSet("address") || fs.isSet("meta");
  if (flags_given && !fs.args().empty()) {
    io.err << "Error: service flags (-name, -id, ...) and files cannot be used together\n";
    return 1;
  }
  auto services = fs.args().empty() ? servicesFromFlags(f) : servicesFromFiles(fs.args());
  if (!services.isOk()) {
    io.err << "Error: " << services.status().message() << "\n";
    return 1;
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  for (const Service& s : *services) {
    if (Status st = sendPut(*api, "/v1/agent/service/register", {}, s.json); !st.isOk()) {
      io.err << "Error registering service " << goQuote(s.name) << ": " << st.message() << "\n";
      return 1;
    }
    io.out << "Registered service: " << s.name << "\n";
  }
  return 0;
}

int runServicesDeregister(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  HttpOptions http;
  std::string id;
  addHttpFlags(fs, &http);
  fs.addString("id", &id, "ID of the service to deregister.");
  if (auto code = parseFlags(fs, args, commandHelp(kDeregisterHelp, fs), io)) return *code;
  if (id.empty() == fs.args().empty()) {
    io.err << "Error: give either -id or service definition files, not both\n";
    return 1;
  }
  std::vector<std::string> ids;
  if (!id.empty()) {
    ids.push_back(id);
  } else {
    auto services = servicesFromFiles(fs.args());
    if (!services.isOk()) {
      io.err << "Error: " << services.status().message() << "\n";
      return 1;
    }
    for (const Service& s : *services) ids.push_back(s.id.empty() ? s.name : s.id);
  }
  auto api = connectApi(http, io);
  if (!api) return 1;
  for (const std::string& service_id : ids) {
    Status st = sendPut(*api, "/v1/agent/service/deregister/" + service_id, {});
    if (!st.isOk()) {
      io.err << "Error deregistering service " << goQuote(service_id) << ": " << st.message()
             << "\n";
      return 1;
    }
    io.out << "Deregistered service: " << service_id << "\n";
  }
  return 0;
}

int runServices(const std::vector<std::string>& args, CliIo& io) {
  static const std::map<std::string, Subcommand> kCommands = {
      {"register", runServicesRegister},
      {"deregister", runServicesDeregister},
  };
  return dispatchSubcommand("services", kServicesUsage, kCommands, args, io);
}

}  // namespace cairn::cli
