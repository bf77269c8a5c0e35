#pragma once
// What server and client agents assemble alike: the identity /v1/agent/self reports, the HTTP
// edge's options, the DNS interface and the pid file.

#include <memory>
#include <optional>
#include <string>

#include "agent/config_registrations.h"
#include "agent/data_dir.h"
#include "core/config/agent_config.h"
#include "core/dns/dns_server.h"
#include "core/http/agent_context.h"
#include "core/http/server.h"
#include "core/local/local_agent.h"
#include "core/storage/rocks_db.h"
#include "core/tls/rpc_tls.h"

namespace cairn::agent {

http::AgentInfo agentInfo(const config::AgentConfig& c, std::string node_id);

// The local agent's identity in the catalog.
local::AgentIdentity localIdentity(const http::AgentInfo& info);

// The HTTP edge's limits. CAIRN_HTTP_HEADER_TIMEOUT_MS, CAIRN_HTTP_IDLE_TIMEOUT_MS and
// CAIRN_HTTP_MAX_CONNS override the defaults (tests use short ones; docs/http.md). Every answer
// carries X-Consul-Default-ACL-Policy: `acl_default_policy` ("allow" while ACLs are off).
http::HttpServerOptions httpOptions(const std::string& acl_default_policy = "allow");

// The resolver's settings from the agent config (dns_config).
StatusOr<dns::DnsConfig> dnsConfig(const config::AgentConfig& config);

// The DNS interface on client_addr:dns_port (-1: off, a null server). `catalog` outlives it.
StatusOr<std::unique_ptr<dns::DnsServer>> startDns(const config::AgentConfig& config,
                                                   const dns::DnsCatalog& catalog,
                                                   dns::DnsServerOptions options = {});

// The HTTP API's listeners over one router: plain HTTP on ports.http and HTTPS on ports.https
// (docs/security.md, "TLS"); either may be off (-1), not both.
class HttpEdge {
 public:
  static StatusOr<std::unique_ptr<HttpEdge>> start(const http::Router& router,
                                                   metrics::Metrics& metrics,
                                                   const config::AgentConfig& config,
                                                   const http::HttpServerOptions& options);
  ~HttpEdge() { stop(); }
  int httpPort() const { return http_ ? http_->port() : -1; }
  int httpsPort() const { return https_ ? https_->port() : -1; }
  // New HTTPS handshakes use the certificates `config` names (a reload); checked first.
  Status reloadTls(const config::AgentConfig& config);
  void stop();

 private:
  std::unique_ptr<http::HttpServer> http_;
  std::unique_ptr<http::HttpServer> https_;
};

// The HTTPS options `config` asks for (tls.https over tls.defaults), files read and checked.
StatusOr<http::HttpTlsOptions> httpsTlsOptions(const config::AgentConfig& config);

// Mutual TLS of internal RPC (tls.internal_rpc over tls.defaults); null when it has no CA.
// `serves`: a server, which needs its own certificate.
StatusOr<std::shared_ptr<tls::RpcTls>> rpcTls(const config::AgentConfig& config, bool serves);

void writePidFile(const std::string& path);

// The end of an agent's stop: removes the pid file, flushes RocksDB (so the next start replays no
// WAL) and removes -dev's temporary data dir. `db` may be null, `data_dir` empty.
void releaseLocalState(const std::string& pid_file, storage::RocksDb* db,
                       std::optional<DataDir>& data_dir);

// A reload: the config files are read again with the arguments the agent started with; the
// service and check definitions and log_level take effect (docs/configuration.md).
// The certificates are read again too when `edge` or `rpc_tls` is given (docs/security.md,
// "Rotating certificates"); a bad certificate file leaves the ones in use.
Status reloadConfig(const config::AgentConfig& started, ConfigRegistrations* registrations,
                    HttpEdge* edge = nullptr, tls::RpcTls* rpc_tls = nullptr);

}  // namespace cairn::agent
