// Bootstrap version: flags only. Replaced by the full implementation (config files, validation).
#include "agent/config.h"

#include <unistd.h>

namespace cairn::agent {

StatusOr<AgentConfig> loadAgentConfig(const std::vector<std::string>& args) {
  AgentConfig c;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    std::string value;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    auto next = [&]() -> std::string {
      if (eq != std::string::npos) return value;
      return i + 1 < args.size() ? args[++i] : "";
    };
    if (a == "-dev") c.dev = c.server = c.bootstrap = true;
    else if (a == "-server") c.server = true;
    else if (a == "-data-dir") c.data_dir = next();
    else if (a == "-http-port") c.http_port = std::stoi(next());
    else if (a == "-dns-port") c.dns_port = std::stoi(next());
    else if (a == "-server-port") c.server_port = std::stoi(next());
    else if (a == "-grpc-port") c.grpc_port = std::stoi(next());
    else if (a == "-log-level") c.log_level = next();
    else if (a == "-node") c.node_name = next();
    else if (a == "-client") c.client_addr = next();
    else return invalidArgument("flag provided but not defined: " + a);
  }
  if (c.node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    c.node_name = host;
  }
  return c;
}

}  // namespace cairn::agent
