#include "agent/cli/commands.h"

#include <iostream>
#include <map>

#include "agent/version.h"

namespace cairn::cli {
namespace {

constexpr char kUsage[] = R"(Usage: cairn [--version] [--help] <command> [<args>]

Available commands are:
    acl         Interact with Cairn's ACLs
    agent       Runs a Cairn agent
    catalog     Interact with the catalog
    event       Fire a new event
    exec        Executes a command on Cairn nodes
    force-leave Forces a member of the cluster to enter the "left" state
    info        Provides debugging information for operators
    join        Tell Cairn agent to join cluster
    kv          Interact with the key-value store
    leave       Gracefully leaves the Cairn cluster and shuts down
    lock        Execute a command holding a lock
    maint       Controls node or service maintenance mode
    members     Lists the members of a Cairn cluster
    monitor     Stream logs from a Cairn agent
    operator    Provides cluster-level tools for Cairn operators
    reload      Triggers the agent to reload configuration files
    services    Interact with services
    snapshot    Saves and restores snapshots of Cairn server state
    template    Renders consul-template templates from the catalog and KV store
    tls         Creates a CA and certificates for TLS
    validate    Validate config files/directories
    version     Prints the Cairn version
    watch       Watch for changes in Cairn

Run "cairn <command> -h" for a command's flags.
)";

constexpr char kKvUsage[] = R"(Usage: cairn kv <subcommand> [options] [args]

  This command has subcommands for interacting with Cairn's key-value store,
  with the same flags and output as "consul kv". Here are some simple examples;
  more are in each subcommand's help:

      $ cairn kv put redis/config/connections 5
      $ cairn kv get redis/config/connections
      $ cairn kv get -recurse redis/config
      $ cairn kv delete redis/config/connections

Subcommands:
    delete    Removes data from the KV store
    export    Exports a tree from the KV store as JSON
    get       Retrieves or lists data from the KV store
    import    Imports a tree stored as JSON to the KV store
    put       Sets or updates data in the KV store
)";

constexpr char kAgentUsage[] = R"(Usage: cairn agent [options]

  Starts a Cairn agent and runs until an interrupt (SIGINT or SIGTERM) is
  received. Config files (HCL, JSON or YAML, Consul's key names) are read in the
  order given, files of a -config-dir in lexical order; flags override them.

      $ cairn agent -dev
      $ cairn agent -server -bootstrap -data-dir /var/lib/cairn
)";

bool isHelp(const std::string& arg) { return arg == "-h" || arg == "-help" || arg == "--help"; }

bool isVersion(const std::string& arg) {
  return arg == "-v" || arg == "-version" || arg == "--version";
}

using Command = int (*)(const std::vector<std::string>&, CliIo&);

}  // namespace

int runVersion(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  std::string help = "Usage: cairn version\n\n  Prints the version of this Cairn binary.\n";
  if (auto code = parseFlags(fs, args, help, io)) return *code;
  if (!fs.args().empty()) {
    io.err << "This command takes no arguments\n";
    return 1;
  }
  io.out << "Cairn v" << agent::kVersion << "\nRevision " << agent::kRevision << "\n";
  return 0;
}

int runAgentCommand(const std::vector<std::string>& args, CliIo& io, const AgentRunner& run_agent) {
  bool help = false;
  auto config = config::loadAgentConfig(args, &help);
  if (help) {
    io.out << kAgentUsage << "\nCommand Options:\n\n" << config::agentFlagsUsage();
    return 0;
  }
  if (!config.isOk()) {
    io.err << config.status().message() << "\nRun \"cairn agent -h\" for the list of flags.\n";
    return 1;
  }
  return run_agent(*config);
}

int runKv(const std::vector<std::string>& args, CliIo& io) {
  static const std::map<std::string, Command> kCommands = {
      {"put", runKvPut},       {"get", runKvGet},       {"delete", runKvDelete},
      {"export", runKvExport}, {"import", runKvImport},
  };
  if (args.empty()) {
    io.err << kKvUsage;
    return 1;
  }
  if (isHelp(args[0])) {
    io.out << kKvUsage;
    return 0;
  }
  auto it = kCommands.find(args[0]);
  if (it == kCommands.end()) {
    io.err << "Unknown command: kv " << args[0] << "\n\n" << kKvUsage;
    return 1;
  }
  return it->second({args.begin() + 1, args.end()}, io);
}

int runCli(const std::vector<std::string>& args, CliIo& io, const AgentRunner& run_agent) {
  if (args.empty()) {
    io.err << kUsage;
    return 1;
  }
  const std::string& command = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (isHelp(command) || command == "help") {
    io.out << kUsage;
    return 0;
  }
  if (isVersion(command) || command == "version") return runVersion(rest, io);
  if (command == "agent") return runAgentCommand(rest, io, run_agent);
  if (command == "kv") return runKv(rest, io);
  if (command == "members") return runMembers(rest, io);
  if (command == "join") return runJoin(rest, io);
  if (command == "leave") return runLeave(rest, io);
  if (command == "force-leave") return runForceLeave(rest, io);
  if (command == "operator") return runOperator(rest, io);
  if (command == "snapshot") return runSnapshot(rest, io);
  if (command == "lock") return runLock(rest, io);
  if (command == "event") return runEvent(rest, io);
  if (command == "watch") return runWatch(rest, io);
  if (command == "acl") return runAcl(rest, io);
  if (command == "catalog") return runCatalog(rest, io);
  if (command == "services") return runServices(rest, io);
  if (command == "reload") return runReload(rest, io);
  if (command == "maint") return runMaint(rest, io);
  if (command == "info") return runInfo(rest, io);
  if (command == "validate") return runValidate(rest, io);
  if (command == "tls") return runTls(rest, io);
  if (command == "monitor") return runMonitor(rest, io);
  if (command == "exec") return runExec(rest, io);
  if (command == "template") return runTemplate(rest, io);
  io.err << "Unknown command: " << command << "\n\n" << kUsage;
  return 1;
}

}  // namespace cairn::cli
