#include <iostream>
#include <map>

#include "agent/agent_server.h"
#include "agent/cli/commands.h"
#include "agent/config.h"
#include "agent/version.h"

namespace cairn::agent::cli {
namespace {

using Command = int (*)(const std::vector<std::string>&);

const char* kUsage =
    "Usage: cairn [--version] [--help] <command> [<args>]\n\n"
    "Available commands are:\n"
    "    agent      Runs a Cairn agent (-dev for a one-process server)\n"
    "    kv         Interact with the key-value store (put, get, delete, export, import)\n"
    "    version    Prints the Cairn version\n";

const char* kKvUsage =
    "Usage: cairn kv <subcommand> [options] [args]\n\n"
    "Subcommands:\n"
    "    delete    Removes data from the KV store\n"
    "    export    Exports a tree from the KV store as JSON\n"
    "    get       Retrieves or lists data from the KV store\n"
    "    import    Imports a tree stored as JSON to the KV store\n"
    "    put       Sets or updates data in the KV store\n";

int version(const std::vector<std::string>&) {
  std::cout << "Cairn v" << kVersion << "\nRevision " << kRevision << "\n";
  return 0;
}

int agentCommand(const std::vector<std::string>& args) {
  auto config = loadAgentConfig(args);
  if (!config.isOk()) {
    std::cerr << "==> " << config.status().message() << "\n";
    return 1;
  }
  return runAgent(*config);
}

int kv(const std::vector<std::string>& args) {
  static const std::map<std::string, Command> kSub = {
      {"put", kvPut}, {"get", kvGet}, {"delete", kvDelete}, {"export", kvExport}, {"import", kvImport}};
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
    std::cerr << kKvUsage;
    return args.empty() ? 1 : 0;
  }
  auto it = kSub.find(args[0]);
  if (it == kSub.end()) {
    std::cerr << "Unknown kv subcommand: " << args[0] << "\n" << kKvUsage;
    return 1;
  }
  return it->second({args.begin() + 1, args.end()});
}

}  // namespace

int run(const std::vector<std::string>& args) {
  static const std::map<std::string, Command> kCommands = {
      {"agent", agentCommand}, {"kv", kv}, {"version", version}, {"--version", version}, {"-v", version}};
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
    std::cerr << kUsage;
    return args.empty() ? 1 : 0;
  }
  auto it = kCommands.find(args[0]);
  if (it == kCommands.end()) {
    std::cerr << "Unknown command: " << args[0] << "\n\n" << kUsage;
    return 1;
  }
  return it->second({args.begin() + 1, args.end()});
}

}  // namespace cairn::agent::cli
