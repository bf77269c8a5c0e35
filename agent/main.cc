// Bootstrap version: `cairn agent` only. Replaced by the full CLI dispatch.
#include <cstdio>

#include "agent/agent_server.h"
#include "agent/config.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] != "agent") {
    std::fprintf(stderr, "usage: cairn agent [flags]\n");
    return 1;
  }
  auto config = cairn::agent::loadAgentConfig({args.begin() + 1, args.end()});
  if (!config.isOk()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  return cairn::agent::runAgent(*config);
}
