#include "agent/cli/cli_common.h"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/client/client_flags.h"

namespace cairn::cli {

void addHttpFlags(FlagSet& fs, HttpOptions* o) {
  fs.addString("http-addr", &o->http_addr,
               "Address of the agent's HTTP API (host:port or http[s]://host:port). Default: "
               "$CAIRN_HTTP_ADDR, else $CONSUL_HTTP_ADDR, else 127.0.0.1:8500.");
  fs.addString("token", &o->token,
               "ACL token sent as X-Consul-Token. Default: $CAIRN_HTTP_TOKEN, else "
               "$CONSUL_HTTP_TOKEN.");
  fs.addString("datacenter", &o->datacenter,
               "Datacenter to query (default: the agent's datacenter).");
  fs.addBool("stale", &o->stale,
             "Let any server answer reads, even without a leader; may return stale data.");
  client::addClientTlsFlags(fs, o, client::TlsPeer::kAgentHttps);
}

std::optional<ApiClient> connectApi(const HttpOptions& options, CliIo& io) {
  auto api = ApiClient::create(options, io.env);
  if (api.isOk()) return std::move(*api);
  io.err << "Error connecting to Cairn agent: " << api.status().message() << "\n";
  return std::nullopt;
}

StatusOr<std::string> loadDataSource(const std::string& arg, std::istream& in) {
  if (arg.empty()) return std::string();
  if (arg[0] == '@') {
    std::ifstream file(arg.substr(1), std::ios::binary);
    if (!file) {
      return invalidArgument("Failed to read file: open " + arg.substr(1) + ": " +
                             std::strerror(errno));
    }
    std::ostringstream data;
    data << file.rdbuf();
    return data.str();
  }
  if (arg != "-") return arg;
  std::ostringstream data;
  data << in.rdbuf();
  if (in.bad()) return invalidArgument("Failed to read stdin");
  return data.str();
}

std::string commandHelp(const std::string& description, const FlagSet& fs) {
  return description + "\nCommand Options:\n\n" + fs.usage();
}

std::optional<int> parseFlags(FlagSet& fs, const std::vector<std::string>& args,
                              const std::string& help, CliIo& io) {
  Status s = fs.parse(args);
  if (!s.isOk()) {
    io.err << s.message() << "\n" << help;
    return 1;
  }
  if (fs.helpRequested()) {
    io.out << help;
    return 0;
  }
  return std::nullopt;
}

int dispatchSubcommand(const std::string& group, const char* usage,
                       const std::map<std::string, Subcommand>& commands,
                       const std::vector<std::string>& args, CliIo& io) {
  if (args.empty()) {
    io.err << usage;
    return 1;
  }
  if (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
    io.out << usage;
    return 0;
  }
  auto it = commands.find(args[0]);
  if (it == commands.end()) {
    io.err << "Unknown command: " << group << " " << args[0] << "\n\n" << usage;
    return 1;
  }
  return it->second({args.begin() + 1, args.end()}, io);
}

}  // namespace cairn::cli
