#pragma once
// AgentConfig: everything `cairn agent` is told, from config files (JSON or YAML, Consul's key
// names) and command-line flags (Consul's names). Flags override files; later files override
// earlier ones (files in -config-dir are read in lexical order).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/config/config_value.h"
#include "core/config/flag_set.h"
#include "core/tls/settings.h"

namespace cairn::config {

struct AgentConfig {
  bool dev = false;
  bool server = false;
  bool bootstrap = false;
  int bootstrap_expect = 0;
  std::string node_name;  // default: the host name
  std::string datacenter = "dc1";
  std::string data_dir;               // required unless dev; dev without it uses a fresh temp dir
  std::string bind_addr = "0.0.0.0";  // cluster (server RPC) address
  std::string client_addr = "127.0.0.1";  // HTTP and DNS listen address
  std::string advertise_addr;  // default: bind_addr, or 127.0.0.1 when bind_addr is 0.0.0.0
  int http_port = 8500;        // -1: no plain HTTP (with ports.https, HTTPS only)
  int https_port = -1;         // Consul: ports.https (8501 by convention); -1: no HTTPS
  int dns_port = 8600;
  int server_port = 8300;
  int grpc_port = 8502;
  std::string pid_file;
  std::string log_level = "info";
  std::vector<std::string> retry_join;
  // SIGTERM leaves the cluster gracefully (Consul: leave_on_terminate, -leave-on-terminate). As in
  // Consul, the default is true on client agents and false on servers; a file or flag that sets
  // it (leave_on_terminate_given) wins.
  bool leave_on_terminate = false;
  bool leave_on_terminate_given = false;
  // limits
  uint64_t kv_max_value_size = 512 * 1024;
  uint64_t txn_max_req_len = 512 * 1024;
  // Sessions: the minimum TTL accepted, in nanoseconds (Consul: session_ttl_min, default 10s).
  int64_t session_ttl_min_ns = 10'000'000'000;
  // Local agent (core/local, docs/agent.md). Script checks registered over HTTP run only when
  // enabled (Consul: enable_script_checks, -enable-script-checks).
  bool enable_script_checks = false;
  // `cairn exec` jobs run on this agent only when false (Consul: disable_remote_exec; default
  // true, as in Consul: agent/remote_exec.h).
  bool disable_remote_exec = true;
  // Output-only check changes reach the catalog at most this often (Consul: check_update_interval,
  // default 5m; 0 syncs every change).
  int64_t check_update_interval_ns = 300'000'000'000;
  // DNS (docs/dns.md; Consul: domain and dns_config.*).
  std::string dns_domain = "consul";
  int64_t dns_node_ttl_ns = 0;
  std::map<std::string, int64_t> dns_service_ttl_ns;  // service name or "prefix*" -> TTL
  int dns_udp_answer_limit = 3;
  bool dns_only_passing = false;
  bool dns_enable_truncate = false;
  // The web UI at /ui (docs/ui.md; Consul: -ui, ui_config.enabled).
  bool ui_enabled = true;
  // HTTP and DNS listen addresses (Consul: addresses.http, addresses.dns); default client_addr.
  std::string http_addr;
  std::string dns_addr;
  std::string https_addr;  // Consul: addresses.https; default client_addr
  // Consul: node_meta, the node's metadata in the catalog.
  std::map<std::string, std::string> node_meta;
  // Consul: recursors. Kept for DNS recursion, which Cairn does not do yet.
  std::vector<std::string> recursors;

  // A service or check definition from a config file (Consul: service, services, check,
  // checks) as JSON in the agent API's shape (snake_case or CamelCase field names), registered
  // by the agent through the same decoders as PUT /v1/agent/service/register (docs/agent.md).
  struct Definition {
    std::string file;
    ConfigPos pos;
    std::string json;
  };
  std::vector<Definition> services;
  std::vector<Definition> checks;

  // Keys Consul knows that Cairn does not implement, per file (ignoredKeysWarning()).
  struct IgnoredKeys {
    std::string file;
    std::vector<std::string> keys;
  };
  std::vector<IgnoredKeys> ignored_keys;

  // The arguments this config was loaded from: a reload (SIGHUP, PUT /v1/agent/reload) loads
  // them again to pick up edited, added and removed files.
  std::vector<std::string> args;
  // ACLs (docs/security.md; Consul's `acl` block). default_policy: allow | deny; down_policy:
  // allow | deny | extend-cache | async-cache (accepted; servers always read their own replica).
  bool acl_enabled = false;
  std::string acl_default_policy = "allow";
  std::string acl_down_policy = "extend-cache";
  bool acl_enable_token_persistence = false;
  std::string acl_initial_management;  // acl.tokens.initial_management (legacy: master)
  std::string acl_agent_token;         // acl.tokens.agent
  std::string acl_default_token;       // acl.tokens.default
  std::string acl_dns_token;           // acl.tokens.dns

  // Membership without gossip (docs/agent.md, "Membership"). The leader fails a client agent
  // not heard from for this long (key client_timeout, a Cairn key; default 10s).
  int64_t client_timeout_ns = 10'000'000'000;

  // Consul's `tls` block and its legacy top-level keys (docs/security.md, "TLS"), by canonical
  // path ("tls.defaults.ca_file", "tls.https.verify_incoming"): the value and the key that set
  // it (legacy "ca_file" lands on tls.defaults.ca_file). tlsSettings() resolves them.
  struct TlsKey {
    std::string value;
    std::string key;
  };
  std::map<std::string, TlsKey> tls;
};

// The settings of one TLS interface, "https" or "internal_rpc": its own block's keys over
// tls.defaults.
tls::TlsSettings tlsSettings(const AgentConfig& config, const std::string& interface);

// Parses `cairn agent` arguments (without the leading "agent"), reading every -config-file and
// -config-dir given, then applying flags. Errors name the offending flag, file or key.
StatusOr<AgentConfig> loadAgentConfig(const std::vector<std::string>& args);
// Adds a binary's own flags next to the agent's (cairn-sidecar's -podinfo-dir, for example).
using ExtraFlags = std::function<void(FlagSet& flags)>;

// As above; when the arguments ask for help (-h, -help) sets *help and returns an error.
// `extra` adds flags parsed together with the agent's.
StatusOr<AgentConfig> loadAgentConfig(const std::vector<std::string>& args, bool* help,
                                      const ExtraFlags& extra = {});

// The flags of `cairn agent` (and `extra`'s), one entry per flag, for `-h`.
std::string agentFlagsUsage(const ExtraFlags& extra = {});

}  // namespace cairn::config
