// `cairn validate`: reads config files and directories exactly as `cairn agent` would (the same
// loader, key table and checks), without starting anything; consul validate's output and exit
// codes.
#include <filesystem>
#include <iostream>

#include "agent/cli/cli_json.h"
#include "agent/cli/commands.h"
#include "core/config/agent_config.h"

namespace cairn::cli {
namespace {

constexpr char kValidateHelp[] = R"(Usage: cairn validate [options] FILE_OR_DIRECTORY...

  Performs a basic sanity test on Cairn configuration files: each is read as the
  agent reads it (JSON, YAML or HCL; directories in lexical order), unknown keys
  and bad values are errors, and the agent's own checks run on the result.
  Service and check definitions must be objects with a name; their other
  fields are checked when the agent registers them.

      $ cairn validate /etc/cairn.d
      $ cairn validate agent.hcl services.json
)";

// The agent's decoders live in the server libraries; here a definition needs only its name.
Status checkDefinitions(const std::vector<config::AgentConfig::Definition>& defs,
                        const char* what) {
  for (const auto& d : defs) {
    auto v = parseJsonText(d.json);
    std::string where = "config file " + d.file + ":" + std::to_string(d.pos.line) + ":" +
                        std::to_string(d.pos.col) + ": " + what;
    if (!v.isOk() || !v->is_object()) return invalidArgument(where + ": not an object");
    if (jsonString(*v, "Name").empty() && jsonString(*v, "name").empty()) {
      return invalidArgument(where + ": missing " + what + " name");
    }
  }
  return Status::ok();
}

}  // namespace

int runValidate(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  bool quiet = false;
  fs.addBool("quiet", &quiet, "When set, a successful validation prints nothing.");
  if (auto code = parseFlags(fs, args, commandHelp(kValidateHelp, fs), io)) return *code;
  if (fs.args().empty()) {
    io.err << "Must specify at least one config file or directory\n";
    return 1;
  }
  std::vector<std::string> agent_args;
  for (const std::string& path : fs.args()) {
    std::error_code ec;
    bool dir = std::filesystem::is_directory(path, ec);
    if (!dir && !std::filesystem::exists(path, ec)) {
      io.err << "Config validation failed: " << path << ": no such file or directory\n";
      return 1;
    }
    agent_args.push_back(dir ? "-config-dir=" + path : "-config-file=" + path);
  }
  auto config = config::loadAgentConfig(agent_args);
  Status s = config.isOk() ? checkDefinitions(config->services, "service") : config.status();
  if (s.isOk()) s = checkDefinitions(config->checks, "check");
  if (!s.isOk()) {
    io.err << "Config validation failed: " << s.message() << "\n";
    return 1;
  }
  if (!quiet) io.out << "Configuration is valid!\n";
  return 0;
}

}  // namespace cairn::cli
