#pragma once
// The `cairn` subcommands. Each takes the arguments after its name and returns the exit code.

#include <string>
#include <vector>

namespace cairn::agent::cli {

int run(const std::vector<std::string>& args);  // dispatches on args[0]

int kvPut(const std::vector<std::string>& args);
int kvGet(const std::vector<std::string>& args);
int kvDelete(const std::vector<std::string>& args);
int kvExport(const std::vector<std::string>& args);
int kvImport(const std::vector<std::string>& args);

}  // namespace cairn::agent::cli
