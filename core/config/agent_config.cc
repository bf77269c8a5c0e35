#include "core/config/agent_config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <type_traits>

#include "core/base/duration.h"
#include "core/base/go_encoding.h"
#include "core/base/logging.h"
#include "core/config/config_file.h"
#include "core/config/flag_set.h"

namespace cairn::config {
namespace {

using Op = std::function<void(AgentConfig&)>;

// The flags as given: config sources in order, and the field assignments to apply after them.
struct ParsedFlags {
  bool dev = false;
  struct Source {
    bool is_dir;
    std::string path;
  };
  std::vector<Source> sources;
  std::vector<Op> ops;
};

Status parseValue(std::string_view text, std::string* out) {
  *out = std::string(text);
  return Status::ok();
}

Status parseValue(std::string_view text, bool* out) {
  return parseGoBool(text, out) ? Status::ok() : invalidArgument("parse error");
}

Status parseValue(std::string_view text, int* out) {
  auto n = parseGoInt(text);
  if (!n.isOk()) return n.status();
  if (*n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max()) {
    return invalidArgument("value out of range");
  }
  *out = static_cast<int>(*n);
  return Status::ok();
}

template <typename T>
void addField(FlagSet& fs, std::string name, T AgentConfig::*member, std::string usage,
              ParsedFlags& p) {
  constexpr bool kIsBool = std::is_same_v<T, bool>;
  const char* value_name = kIsBool ? "" : std::is_same_v<T, int> ? "int" : "string";
  auto setter = [member, &p](std::string_view text) -> Status {
    T value{};
    CAIRN_RETURN_IF_ERROR(parseValue(text, &value));
    p.ops.push_back([member, value](AgentConfig& c) { c.*member = value; });
    return Status::ok();
  };
  fs.add(std::move(name), value_name, std::move(usage), setter, kIsBool);
}

void addSourceFlags(FlagSet& fs, ParsedFlags& p) {
  fs.add("config-file", "path", "An HCL, JSON or YAML config file; repeatable, read in order.",
         [&p](std::string_view v) {
           p.sources.push_back({false, std::string(v)});
           return Status::ok();
         });
  fs.add("config-dir", "path",
         "A directory of *.hcl, *.json, *.yaml and *.yml config files, read in lexical order; "
         "repeatable.",
         [&p](std::string_view v) {
           p.sources.push_back({true, std::string(v)});
           return Status::ok();
         });
  fs.add(
      "retry-join", "address", "Address of a server to join; repeatable.",
      [&p](std::string_view v) {
        p.ops.push_back([addr = std::string(v)](AgentConfig& c) { c.retry_join.push_back(addr); });
        return Status::ok();
      });
  // Client agents: -join is -retry-join (Cairn keeps trying either way; docs/agent.md).
  fs.add(
      "join", "address", "Address of a server to join; repeatable (same as -retry-join).",
      [&p](std::string_view v) {
        p.ops.push_back([addr = std::string(v)](AgentConfig& c) { c.retry_join.push_back(addr); });
        return Status::ok();
      });
}

void defineFlags(FlagSet& fs, ParsedFlags& p) {
  using C = AgentConfig;
  fs.addBool("dev", &p.dev, "Development mode: a single in-memory-like server that bootstraps.");
  addField(fs, "server", &C::server, "Run in server mode.", p);
  addField(fs, "bootstrap", &C::bootstrap, "Bootstrap a single server without waiting.", p);
  addField(fs, "bootstrap-expect", &C::bootstrap_expect, "Servers to wait for before bootstrap.",
           p);
  addField(fs, "node", &C::node_name, "Name of this node (default: the host name).", p);
  addField(fs, "datacenter", &C::datacenter, "Datacenter of this agent (default: dc1).", p);
  addField(fs, "data-dir", &C::data_dir, "Directory for the agent's state.", p);
  addField(fs, "bind", &C::bind_addr, "Address for cluster (server RPC) traffic.", p);
  addField(fs, "client", &C::client_addr, "Address for the HTTP and DNS interfaces.", p);
  addField(fs, "advertise", &C::advertise_addr, "Address advertised to other nodes.", p);
  addField(fs, "http-port", &C::http_port, "HTTP API port (default 8500).", p);
  addField(fs, "https-port", &C::https_port, "HTTPS API port (default -1: off; Consul uses 8501).",
           p);
  addField(fs, "dns-port", &C::dns_port, "DNS port (default 8600; -1 disables DNS).", p);
  addField(fs, "server-port", &C::server_port, "Server RPC port (default 8300).", p);
  addField(fs, "grpc-port", &C::grpc_port, "gRPC port (default 8502).", p);
  addField(fs, "pid-file", &C::pid_file, "File to write the agent's PID to.", p);
  addField(fs, "log-level", &C::log_level, "trace, debug, info, warn or error.", p);
  addField(fs, "enable-script-checks", &C::enable_script_checks,
           "Run script checks registered over the HTTP API.", p);
  addField(fs, "ui", &C::ui_enabled, "Serve the web UI at /ui (default true; -ui=false disables).",
           p);
  fs.add(
      "leave-on-terminate", "",
      "Leave the cluster on SIGTERM (default: true on client agents, false on servers).",
      [&p](std::string_view v) -> Status {
        bool leave = false;
        CAIRN_RETURN_IF_ERROR(parseValue(v, &leave));
        p.ops.push_back([leave](AgentConfig& c) {
          c.leave_on_terminate = leave;
          c.leave_on_terminate_given = true;
        });
        return Status::ok();
      },
      /*is_bool=*/true);
  fs.add("check-update-interval", "duration",
         "Longest delay before an output-only check change reaches the catalog (default 5m).",
         [&p](std::string_view v) -> Status {
           auto d = parseGoDuration(v);
           if (!d.isOk() || d->count() < 0) {
             return invalidArgument("expected a duration like \"5m\"");
           }
           p.ops.push_back([ns = d->count()](AgentConfig& c) { c.check_update_interval_ns = ns; });
           return Status::ok();
         });
  addSourceFlags(fs, p);
}

Status applySources(const ParsedFlags& p, AgentConfig& c) {
  for (const auto& source : p.sources) {
    if (!source.is_dir) {
      CAIRN_RETURN_IF_ERROR(applyConfigFile(source.path, c));
      continue;
    }
    auto files = listConfigDir(source.path);
    if (!files.isOk()) return files.status();
    for (const std::string& file : *files) CAIRN_RETURN_IF_ERROR(applyConfigFile(file, c));
  }
  return Status::ok();
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return s;
}

void applyDefaults(bool dev, AgentConfig& c) {
  if (dev) c.server = c.bootstrap = true;
  c.dev = dev;
  if (!c.leave_on_terminate_given) c.leave_on_terminate = !c.server;
  c.datacenter = lower(c.datacenter);
  c.log_level = lower(c.log_level);
  if (c.node_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) == 0) c.node_name = host;
  }
  if (c.http_addr.empty()) c.http_addr = c.client_addr;
  if (c.dns_addr.empty()) c.dns_addr = c.client_addr;
  if (c.https_addr.empty()) c.https_addr = c.client_addr;
  if (c.advertise_addr.empty()) {
    bool any = c.bind_addr == "0.0.0.0" || c.bind_addr == "::" || c.bind_addr == "[::]";
    c.advertise_addr = any ? "127.0.0.1" : c.bind_addr;
  }
}

Status checkPort(int port, const char* key, const char* flag, bool may_disable) {
  if ((port >= 1 && port <= 65535) || (may_disable && port == -1)) return Status::ok();
  return invalidArgument(std::string(key) + " (" + flag + ") must be in 1..65535" +
                         (may_disable ? " or -1 to disable" : "") + ", got " +
                         std::to_string(port));
}

Status validatePorts(const AgentConfig& c) {
  CAIRN_RETURN_IF_ERROR(checkPort(c.http_port, "ports.http", "-http-port", true));
  CAIRN_RETURN_IF_ERROR(checkPort(c.https_port, "ports.https", "-https-port", true));
  CAIRN_RETURN_IF_ERROR(checkPort(c.dns_port, "ports.dns", "-dns-port", true));
  CAIRN_RETURN_IF_ERROR(checkPort(c.server_port, "ports.server", "-server-port", false));
  return checkPort(c.grpc_port, "ports.grpc", "-grpc-port", false);
}

Status validateBootstrap(const AgentConfig& c) {
  if (c.bootstrap_expect < 0) {
    return invalidArgument("bootstrap_expect (-bootstrap-expect) must be >= 0, got " +
                           std::to_string(c.bootstrap_expect));
  }
  if (c.dev && c.bootstrap_expect > 0) {
    return invalidArgument("-dev cannot be combined with bootstrap_expect (-bootstrap-expect)");
  }
  if (c.bootstrap && c.bootstrap_expect > 0) {
    return invalidArgument(
        "bootstrap (-bootstrap) and bootstrap_expect (-bootstrap-expect) are "
        "mutually exclusive");
  }
  if ((c.bootstrap || c.bootstrap_expect > 0) && !c.server) {
    return invalidArgument(std::string(c.bootstrap ? "bootstrap" : "bootstrap_expect") +
                           " requires server mode (-server or \"server\": true)");
  }
  return Status::ok();
}

Status validateNames(const AgentConfig& c) {
  bool dc_ok = !c.datacenter.empty() &&
               std::all_of(c.datacenter.begin(), c.datacenter.end(), [](unsigned char ch) {
                 return std::isalnum(ch) || ch == '_' || ch == '-';
               });
  if (!dc_ok) {
    return invalidArgument("datacenter " + goQuote(c.datacenter) +
                           " is invalid: use only [A-Za-z0-9_-] (it is lowercased)");
  }
  LogLevel level;
  if (!parseLogLevel(c.log_level, level)) {
    return invalidArgument("log_level (-log-level) " + goQuote(c.log_level) +
                           " is invalid: use trace, debug, info, warn, err or error");
  }
  if (c.node_name.empty()) return invalidArgument("node_name (-node) cannot be empty");
  if (c.data_dir.empty() && !c.dev) {
    return invalidArgument("data_dir (-data-dir) is required unless -dev is set");
  }
  return Status::ok();
}

// The TLS keys that only make sense together (files are read at start: core/tls/material.h).
Status validateTlsInterface(const AgentConfig& c, const std::string& interface) {
  tls::TlsSettings t = tlsSettings(c, interface);
  if (t.cert_file.empty() != t.key_file.empty()) {
    return invalidArgument(t.cert_file.empty()
                               ? t.key_file_key + " is set but no cert_file: give both"
                               : t.cert_file_key + " is set but no key_file: give both");
  }
  std::string block = "tls." + interface + ".";
  if (t.verify_incoming && (t.ca_file.empty() || t.cert_file.empty())) {
    return invalidArgument(block +
                           "verify_incoming needs ca_file (to check clients) and cert_file");
  }
  if ((t.verify_outgoing || t.verify_server_hostname) && t.ca_file.empty()) {
    return invalidArgument(block +
                           (t.verify_outgoing ? "verify_outgoing" : "verify_server_hostname") +
                           " needs ca_file (the CA that signed the servers' certificates)");
  }
  return Status::ok();
}

Status validateTls(const AgentConfig& c) {
  CAIRN_RETURN_IF_ERROR(validateTlsInterface(c, "https"));
  CAIRN_RETURN_IF_ERROR(validateTlsInterface(c, "internal_rpc"));
  if (c.https_port > 0 && !tlsSettings(c, "https").serves()) {
    return invalidArgument(
        "ports.https is set but there is no certificate: set tls.defaults.cert_file and "
        "key_file (or tls.https.*)");
  }
  return Status::ok();
}

}  // namespace

tls::TlsSettings tlsSettings(const AgentConfig& config, const std::string& interface) {
  tls::TlsSettings t;
  // The interface's own key, else tls.defaults'; `key` names the one used.
  auto get = [&](const std::string& name, std::string* key) -> std::string {
    for (const std::string& block : {interface, std::string("defaults")}) {
      auto it = config.tls.find("tls." + block + "." + name);
      if (it == config.tls.end()) continue;
      if (key != nullptr) *key = it->second.key;
      return it->second.value;
    }
    return "";
  };
  t.ca_file = get("ca_file", &t.ca_file_key);
  t.cert_file = get("cert_file", &t.cert_file_key);
  t.key_file = get("key_file", &t.key_file_key);
  if (std::string v = get("tls_min_version", nullptr); !v.empty()) t.min_version = v;
  t.verify_incoming = get("verify_incoming", nullptr) == "true";
  t.verify_outgoing = get("verify_outgoing", nullptr) == "true";
  t.verify_server_hostname = get("verify_server_hostname", nullptr) == "true";
  return t;
}

std::string agentFlagsUsage(const ExtraFlags& extra) {
  FlagSet fs;
  if (extra) extra(fs);
  ParsedFlags p;
  defineFlags(fs, p);
  return fs.usage();
}

StatusOr<AgentConfig> loadAgentConfig(const std::vector<std::string>& args, bool* help,
                                      const ExtraFlags& extra) {
  FlagSet fs;
  ParsedFlags p;
  defineFlags(fs, p);
  if (extra) extra(fs);
  CAIRN_RETURN_IF_ERROR(fs.parse(args));
  if (fs.helpRequested()) {
    if (help != nullptr) *help = true;
    return invalidArgument("flag: help requested");
  }
  if (!fs.args().empty()) {
    return invalidArgument("unexpected argument: " + goQuote(fs.args().front()) +
                           " (cairn agent takes only flags)");
  }
  AgentConfig c;
  c.args = args;
  if (p.dev) c.bind_addr = "127.0.0.1";
  CAIRN_RETURN_IF_ERROR(applySources(p, c));
  for (const Op& op : p.ops) op(c);
  applyDefaults(p.dev, c);
  CAIRN_RETURN_IF_ERROR(validatePorts(c));
  CAIRN_RETURN_IF_ERROR(validateBootstrap(c));
  CAIRN_RETURN_IF_ERROR(validateNames(c));
  CAIRN_RETURN_IF_ERROR(validateTls(c));
  return c;
}

StatusOr<AgentConfig> loadAgentConfig(const std::vector<std::string>& args) {
  return loadAgentConfig(args, nullptr);
}

}  // namespace cairn::config
