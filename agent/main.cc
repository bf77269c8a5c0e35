// The `cairn` binary: agent, CLI and version in one executable.
#include "agent/cli/commands.h"

int main(int argc, char** argv) {
  return cairn::agent::cli::run(std::vector<std::string>(argv + 1, argv + argc));
}
