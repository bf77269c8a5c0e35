#include "agent/config.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "agent/flags.h"
#include "core/base/duration.h"
#include "core/base/logging.h"

namespace cairn::agent {
namespace {

namespace fs = std::filesystem;

// Where the config files and directories named on the command line are collected.
struct FileFlags {
  std::vector<std::string> files;
  std::vector<std::string> dirs;
};

void defineFlags(FlagSet& f, AgentConfig& c, FileFlags& files) {
  f.boolFlag("dev", &c.dev);
  f.boolFlag("server", &c.server);
  f.boolFlag("bootstrap", &c.bootstrap);
  f.intFlag("bootstrap-expect", &c.bootstrap_expect);
  f.stringFlag("node", &c.node_name);
  f.stringFlag("datacenter", &c.datacenter);
  f.stringFlag("data-dir", &c.data_dir);
  f.listFlag("config-file", &files.files);
  f.listFlag("config-dir", &files.dirs);
  f.stringFlag("bind", &c.bind_addr);
  f.stringFlag("client", &c.client_addr);
  f.stringFlag("advertise", &c.advertise_addr);
  f.intFlag("http-port", &c.http_port);
  f.intFlag("dns-port", &c.dns_port);
  f.intFlag("server-port", &c.server_port);
  f.intFlag("grpc-port", &c.grpc_port);
  f.stringFlag("pid-file", &c.pid_file);
  f.stringFlag("log-level", &c.log_level);
  f.listFlag("retry-join", &c.retry_join);
}

template <typename T>
Status read(const YAML::Node& node, const std::string& key, T& out) {
  try {
    out = node.as<T>();
    return Status::ok();
  } catch (const YAML::Exception&) {
    return invalidArgument("invalid value for \"" + key + "\"");
  }
}

Status applyPorts(const YAML::Node& ports, AgentConfig& c) {
  if (!ports.IsMap()) return invalidArgument("\"ports\" must be an object");
  for (const auto& kv : ports) {
    std::string key = kv.first.as<std::string>();
    int* target = key == "http" ? &c.http_port : key == "dns" ? &c.dns_port
                : key == "server" ? &c.server_port : key == "grpc" ? &c.grpc_port : nullptr;
    if (!target) return invalidArgument("unknown key \"ports." + key + "\"");
    CAIRN_RETURN_IF_ERROR(read(kv.second, "ports." + key, *target));
  }
  return Status::ok();
}

Status applyLimits(const YAML::Node& limits, AgentConfig& c) {
  if (!limits.IsMap()) return invalidArgument("\"limits\" must be an object");
  for (const auto& kv : limits) {
    std::string key = kv.first.as<std::string>();
    if (key == "kv_max_value_size") {
      CAIRN_RETURN_IF_ERROR(read(kv.second, "limits." + key, c.kv_max_value_size));
    } else if (key == "txn_max_req_len") {
      CAIRN_RETURN_IF_ERROR(read(kv.second, "limits." + key, c.txn_max_req_len));
    } else {
      return invalidArgument("unknown key \"limits." + key + "\"");
    }
  }
  return Status::ok();
}

Status applyRetryJoin(const YAML::Node& node, AgentConfig& c) {
  std::vector<std::string> list;
  if (node.IsScalar()) list.push_back(node.as<std::string>());
  else CAIRN_RETURN_IF_ERROR(read(node, "retry_join", list));
  c.retry_join.insert(c.retry_join.end(), list.begin(), list.end());
  return Status::ok();
}

Status applySessionTtlMin(const YAML::Node& node, AgentConfig& c) {
  std::string text;
  CAIRN_RETURN_IF_ERROR(read(node, "session_ttl_min", text));
  auto d = parseGoDuration(text);
  if (!d.isOk()) return invalidArgument("invalid value for \"session_ttl_min\": " + d.status().message());
  c.session_ttl_min_ns = d->count();
  return Status::ok();
}

Status applyKey(const std::string& key, const YAML::Node& v, AgentConfig& c) {
  if (key == "datacenter") return read(v, key, c.datacenter);
  if (key == "node_name") return read(v, key, c.node_name);
  if (key == "data_dir") return read(v, key, c.data_dir);
  if (key == "server") return read(v, key, c.server);
  if (key == "bootstrap") return read(v, key, c.bootstrap);
  if (key == "bootstrap_expect") return read(v, key, c.bootstrap_expect);
  if (key == "bind_addr") return read(v, key, c.bind_addr);
  if (key == "client_addr") return read(v, key, c.client_addr);
  if (key == "advertise_addr") return read(v, key, c.advertise_addr);
  if (key == "log_level") return read(v, key, c.log_level);
  if (key == "pid_file") return read(v, key, c.pid_file);
  if (key == "leave_on_terminate") return read(v, key, c.leave_on_terminate);
  if (key == "ports") return applyPorts(v, c);
  if (key == "limits") return applyLimits(v, c);
  if (key == "retry_join") return applyRetryJoin(v, c);
  if (key == "session_ttl_min") return applySessionTtlMin(v, c);
  return invalidArgument("unknown key \"" + key + "\"");
}

Status applyFile(const std::string& path, AgentConfig& c) {
  std::string ext = fs::path(path).extension().string();
  if (ext == ".hcl") return invalidArgument(path + ": HCL is not supported; use JSON or YAML");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);  // yaml-cpp reads JSON as well.
  } catch (const YAML::Exception& e) {
    return invalidArgument(path + ": " + e.what());
  }
  if (root.IsNull()) return Status::ok();
  if (!root.IsMap()) return invalidArgument(path + ": the top level must be an object");
  for (const auto& kv : root) {
    Status s = applyKey(kv.first.as<std::string>(), kv.second, c);
    if (!s.isOk()) return invalidArgument(path + ": " + s.message());
  }
  return Status::ok();
}

Status applyDir(const std::string& dir, AgentConfig& c) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".json" || ext == ".yaml" || ext == ".yml" || ext == ".hcl")) {
      files.push_back(entry.path().string());
    }
  }
  if (ec) return invalidArgument("config dir " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) CAIRN_RETURN_IF_ERROR(applyFile(f, c));
  return Status::ok();
}

Status validatePort(const char* name, int port, bool may_disable) {
  if ((port >= 1 && port <= 65535) || (may_disable && port == -1)) return Status::ok();
  return invalidArgument(std::string(name) + " must be between 1 and 65535" +
                         (may_disable ? " (or -1 to disable)" : "") + ", got " + std::to_string(port));
}

Status validate(AgentConfig& c) {
  CAIRN_RETURN_IF_ERROR(validatePort("http port", c.http_port, false));
  CAIRN_RETURN_IF_ERROR(validatePort("dns port", c.dns_port, true));
  CAIRN_RETURN_IF_ERROR(validatePort("server port", c.server_port, false));
  CAIRN_RETURN_IF_ERROR(validatePort("grpc port", c.grpc_port, true));
  if (c.bootstrap_expect < 0) return invalidArgument("bootstrap_expect must not be negative");
  if (c.bootstrap && c.bootstrap_expect > 0 && !c.dev) {
    return invalidArgument("bootstrap and bootstrap_expect are mutually exclusive");
  }
  if (c.dev && c.bootstrap_expect > 0) return invalidArgument("-dev cannot be used with -bootstrap-expect");
  std::transform(c.datacenter.begin(), c.datacenter.end(), c.datacenter.begin(), ::tolower);
  if (!std::regex_match(c.datacenter, std::regex("[a-z0-9_-]+"))) {
    return invalidArgument("datacenter name \"" + c.datacenter +
                           "\" may only contain letters, digits, '_' and '-'");
  }
  LogLevel level;
  if (!parseLogLevel(c.log_level, level)) return invalidArgument("invalid log level \"" + c.log_level + "\"");
  return Status::ok();
}

void applyDefaults(AgentConfig& c) {
  if (c.dev) c.server = c.bootstrap = true;
  if (c.node_name.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    c.node_name = host;
  }
  if (c.advertise_addr.empty()) c.advertise_addr = c.bind_addr == "0.0.0.0" ? "127.0.0.1" : c.bind_addr;
}

}  // namespace

StatusOr<AgentConfig> loadAgentConfig(const std::vector<std::string>& args) {
  // Pass 1 finds the config files; files are applied first, then the flags again on top.
  AgentConfig scratch;
  FileFlags files;
  FlagSet first;
  defineFlags(first, scratch, files);
  auto rest = first.parse(args);
  if (!rest.isOk()) return rest.status();
  if (!rest->empty()) return invalidArgument("unexpected argument: " + rest->front());

  AgentConfig config;
  for (const auto& f : files.files) CAIRN_RETURN_IF_ERROR(applyFile(f, config));
  for (const auto& d : files.dirs) CAIRN_RETURN_IF_ERROR(applyDir(d, config));
  FileFlags ignored;
  FlagSet second;
  defineFlags(second, config, ignored);
  if (auto again = second.parse(args); !again.isOk()) return again.status();
  applyDefaults(config);
  CAIRN_RETURN_IF_ERROR(validate(config));
  return config;
}

}  // namespace cairn::agent
