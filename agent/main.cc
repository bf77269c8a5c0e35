// The `cairn` binary: `cairn agent` runs the agent; every other command is a client of one.
#include <iostream>
#include <string>
#include <vector>

#include "agent/agent_server.h"
#include "agent/cli/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  cairn::cli::CliIo io{std::cin, std::cout, std::cerr, cairn::cli::processEnv()};
  return cairn::cli::runCli(args, io, [](const cairn::config::AgentConfig& config) {
    return cairn::agent::runAgent(config);
  });
}
