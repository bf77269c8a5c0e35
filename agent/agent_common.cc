#include "agent/agent_common.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "agent/version.h"
#include "core/base/logging.h"
#include "core/config/config_file.h"
#include "core/http/io_pool.h"
#include "core/tls/material.h"

namespace cairn::agent {

http::AgentInfo agentInfo(const config::AgentConfig& c, std::string node_id) {
  http::AgentInfo a;
  a.node_name = c.node_name;
  a.node_id = std::move(node_id);
  a.datacenter = c.datacenter;
  a.version = kVersion;
  a.revision = kRevision;
  a.advertise_addr = c.advertise_addr.empty() ? "127.0.0.1" : c.advertise_addr;
  a.server_port = c.server_port;
  a.server = c.server || c.dev;
  a.session_ttl_min_ns = c.session_ttl_min_ns;
  a.kv_max_value_size = c.kv_max_value_size;
  a.txn_max_req_len = c.txn_max_req_len;
  a.node_meta = c.node_meta;
  return a;
}

local::AgentIdentity localIdentity(const http::AgentInfo& info) {
  return local::AgentIdentity{info.node_name,
                              info.node_id,
                              info.datacenter,
                              info.advertise_addr,
                              local::defaultTaggedAddresses(info.advertise_addr),
                              info.node_meta};
}

http::HttpServerOptions httpOptions(const std::string& acl_default_policy) {
  http::HttpServerOptions o;
  o.pool = &http::sharedIoPool();
  o.response_headers = {{"X-Consul-Default-ACL-Policy", acl_default_policy}};
  auto env = [](const char* name, int64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    return (*end == '\0' && n > 0) ? static_cast<int64_t>(n) : fallback;
  };
  o.header_timeout =
      std::chrono::milliseconds(env("CAIRN_HTTP_HEADER_TIMEOUT_MS", o.header_timeout.count()));
  o.idle_timeout =
      std::chrono::milliseconds(env("CAIRN_HTTP_IDLE_TIMEOUT_MS", o.idle_timeout.count()));
  o.max_connections =
      static_cast<size_t>(env("CAIRN_HTTP_MAX_CONNS", static_cast<int64_t>(o.max_connections)));
  return o;
}

StatusOr<dns::DnsConfig> dnsConfig(const config::AgentConfig& config) {
  auto seconds = [](int64_t ns) { return static_cast<uint32_t>(ns / 1'000'000'000); };
  dns::DnsConfig dns_config;
  dns_config.domain = config.dns_domain;
  dns_config.datacenter = config.datacenter;
  dns_config.node_ttl = seconds(config.dns_node_ttl_ns);
  for (const auto& [name, ns] : config.dns_service_ttl_ns) {
    dns_config.service_ttl_by_name[name] = seconds(ns);
  }
  dns_config.udp_answer_limit = config.dns_udp_answer_limit;
  dns_config.only_passing = config.dns_only_passing;
  dns_config.enable_truncate = config.dns_enable_truncate;
  auto normalized = dns::normalizeConfig(dns_config);
  if (!normalized.isOk()) return invalidArgument("dns_config: " + normalized.status().message());
  return normalized;
}

StatusOr<std::unique_ptr<dns::DnsServer>> startDns(const config::AgentConfig& config,
                                                   const dns::DnsCatalog& catalog,
                                                   dns::DnsServerOptions options) {
  if (config.dns_port < 0) return std::unique_ptr<dns::DnsServer>();
  auto normalized = dnsConfig(config);
  if (!normalized.isOk()) return normalized.status();
  return dns::DnsServer::start(config.dns_addr, config.dns_port, *normalized, catalog,
                               std::move(options));
}

StatusOr<http::HttpTlsOptions> httpsTlsOptions(const config::AgentConfig& config) {
  tls::TlsSettings settings = config::tlsSettings(config, "https");
  auto material = tls::loadMaterial(settings);
  if (!material.isOk()) return material.status();
  http::HttpTlsOptions o;
  o.ca_pem = std::move(material->ca_pem);
  o.cert_pem = std::move(material->cert_pem);
  o.key_pem = std::move(material->key_pem);
  o.verify_incoming = settings.verify_incoming;
  o.min_version = settings.min_version;
  return o;
}

StatusOr<std::shared_ptr<tls::RpcTls>> rpcTls(const config::AgentConfig& config, bool serves) {
  return tls::RpcTls::create(config::tlsSettings(config, "internal_rpc"), serves,
                             "server." + config.datacenter + "." + config.dns_domain);
}

StatusOr<std::unique_ptr<HttpEdge>> HttpEdge::start(const http::Router& router,
                                                    metrics::Metrics& metrics,
                                                    const config::AgentConfig& config,
                                                    const http::HttpServerOptions& options) {
  if (config.http_port < 0 && config.https_port < 0) {
    return invalidArgument("ports.http and ports.https are both off: the agent needs one");
  }
  auto edge = std::make_unique<HttpEdge>();
  if (config.http_port >= 0) {
    edge->http_ = std::make_unique<http::HttpServer>(router, metrics, options);
    CAIRN_RETURN_IF_ERROR(edge->http_->start(config.http_addr, config.http_port));
  }
  if (config.https_port >= 0) {
    auto tls = httpsTlsOptions(config);
    if (!tls.isOk()) return tls.status();
    http::HttpServerOptions https_options = options;
    https_options.tls = std::move(*tls);
    edge->https_ = std::make_unique<http::HttpServer>(router, metrics, std::move(https_options));
    CAIRN_RETURN_IF_ERROR(edge->https_->start(config.https_addr, config.https_port));
  }
  return edge;
}

Status HttpEdge::reloadTls(const config::AgentConfig& config) {
  if (!https_) return Status::ok();
  auto tls = httpsTlsOptions(config);
  if (!tls.isOk()) return tls.status();
  return https_->setTls(*tls);
}

void HttpEdge::stop() {
  if (http_) http_->stop();
  if (https_) https_->stop();
}

// Written beside the target and renamed over it: a reader (a supervisor, a test) sees no file or
// the whole PID, never an empty file.
void writePidFile(const std::string& path) {
  if (path.empty()) return;
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << getpid() << "\n";
    if (!out.flush()) {
      LOG_WARN("agent", "could not write the pid file " << path);
      return;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    LOG_WARN("agent", "could not write the pid file " << path);
}

void releaseLocalState(const std::string& pid_file, storage::RocksDb* db,
                       std::optional<DataDir>& data_dir) {
  if (!pid_file.empty()) unlink(pid_file.c_str());
  if (db != nullptr) {
    if (Status flushed = db->flush(); !flushed.isOk()) LOG_WARN("agent", flushed.message());
  }
  if (data_dir) data_dir->removeIfTemporary();
}

Status reloadConfig(const config::AgentConfig& started, ConfigRegistrations* registrations,
                    HttpEdge* edge, tls::RpcTls* rpc_tls) {
  auto fresh = config::loadAgentConfig(started.args);
  if (!fresh.isOk()) return fresh.status();
  LogLevel level = LogLevel::kInfo;
  if (parseLogLevel(fresh->log_level, level)) setLogLevel(level);
  if (std::string w = config::ignoredKeysWarning(*fresh); !w.empty()) LOG_WARN("agent", w);
  // Certificates first: a bad service definition must not keep rotated certificates out.
  Status tls = Status::ok();
  if (edge != nullptr) tls = edge->reloadTls(*fresh);
  if (rpc_tls != nullptr && tls.isOk()) {
    tls = rpc_tls->reload(config::tlsSettings(*fresh, "internal_rpc"));
  }
  if (tls.isOk() && (edge != nullptr || rpc_tls != nullptr)) {
    LOG_INFO("agent", "certificates reloaded");
  }
  Status registered = registrations ? registrations->apply(*fresh) : Status::ok();
  return tls.isOk() ? registered : tls;
}

}  // namespace cairn::agent
