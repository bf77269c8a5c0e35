#pragma once
// ClientAgent: `cairn agent` without -server. No Raft and no state store: a data dir holds only
// the local registry. It serves Consul's HTTP API on its own port: /v1/agent/* from its local
// agent (checks run here, anti-entropy through RemoteCatalogPort), everything else forwarded to
// one server over gRPC (HttpForwarder), DNS forwarded the same way. The servers come from
// -retry-join / -join (IPs, host:port, DNS names: every A record of a name is a server),
// resolved again periodically. See docs/agent.md, "Client agents".
//
// A library (cairn_agent_client) so that other binaries (the pod sidecar) build on it.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "agent/agent_common.h"
#include "agent/client/http_forwarder.h"
#include "agent/client/remote_catalog_port.h"
#include "agent/client/server_connection.h"
#include "agent/data_dir.h"
#include "agent/remote_exec.h"
#include "agent/running_agent.h"
#include "core/base/timer_queue.h"
#include "core/config/agent_config.h"
#include "core/dns/dns_server.h"
#include "core/health/async_prober_factory.h"
#include "core/health/scheduler.h"
#include "core/http/agent_context.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/local/local_agent.h"
#include "core/membership/heartbeat_sender.h"

namespace cairn::agent::client {

// A client's own view of the members: itself and the servers it knows (by address). Its
// /v1/agent/members lists the servers' answer (clients included, with their status) and falls
// back to this view only when no server answers (core/http/membership_routes.h).
class KnownServersMembers final : public http::MembersSource {
 public:
  KnownServersMembers(const ServerConnection& connection, http::AgentInfo self, int http_port)
      : connection_(connection), self_(std::move(self)), http_port_(http_port) {}
  std::vector<http::AgentMember> members() const override;

 private:
  const ServerConnection& connection_;
  const http::AgentInfo self_;
  const int http_port_;
};

class ClientAgent final : public RunningAgent {
 public:
  struct Options {
    ServerConnection::Options connection;
    HttpForwarder::Options forwarder;
    // How often -retry-join names are resolved again (new server pods, changed addresses).
    Nanos rejoin_interval = std::chrono::seconds(30);
    // While no server is known, how often resolution is tried again.
    Nanos retry_interval = std::chrono::seconds(1);
  };

  static StatusOr<std::unique_ptr<ClientAgent>> start(const config::AgentConfig& config,
                                                      Options options);
  ~ClientAgent() override;
  void stop() override;
  // SIGHUP: new certificates for HTTPS and the servers (docs/security.md).
  Status reload() override;

  int httpPort() const;
  metrics::Metrics& metrics() { return *metrics_; }
  // The hook for membership (HeartbeatSender on the members branch): its `channel` is
  // connection().channel(), `on_failure` calls connection().reportChannelFailure(channel), and
  // `on_servers` passes the reply's server RPC addresses to connection().setServers().
  ServerConnection& connection() { return *connection_; }
  local::LocalAgent& localAgent() { return *local_agent_; }

 private:
  ClientAgent(config::AgentConfig config, Options options)
      : config_(std::move(config)), options_(options) {}
  Status startLocal();
  Status startInterfaces();
  // Resolves -retry-join now (plus the servers joined over HTTP); true when at least one
  // server address came out.
  bool resolveServers();
  // PUT /v1/agent/join/<address>: resolves `address` (on slow_work_), asks each server it names
  // for its leader, and adds those that answered to the known servers (kept across the
  // periodic re-resolution of -retry-join).
  void join(const std::string& address, http::Responder respond);
  void finishJoin(const std::string& address, std::vector<std::string> answered,
                  const std::vector<std::string>& errors, http::Responder respond);
  void startHeartbeats();
  void leaveOrStopHeartbeats();
  void resolverLoop();
  std::optional<std::vector<uint8_t>> forwardDns(std::span<const uint8_t> query,
                                                 dns::Transport transport);

  const config::AgentConfig config_;
  const Options options_;
  std::shared_ptr<tls::RpcTls> rpc_tls_;  // null: plain gRPC to the servers
  std::optional<DataDir> data_dir_;
  std::unique_ptr<storage::RocksDb> db_;
  http::AgentInfo info_;
  std::unique_ptr<metrics::Metrics> metrics_;
  TimerQueue timers_;
  SerialWorker slow_work_;
  SystemClock clock_;
  std::unique_ptr<ServerConnection> connection_;
  std::unique_ptr<HttpForwarder> forwarder_;
  std::unique_ptr<RemoteCatalogPort> catalog_port_;
  std::unique_ptr<KnownServersMembers> members_;
  std::unique_ptr<http::AgentApiContext> agent_ctx_;
  std::unique_ptr<health::TimerQueueScheduler> scheduler_;
  health::AsyncProberFactory probers_;
  std::unique_ptr<local::LocalAgent> local_agent_;
  std::unique_ptr<membership::HeartbeatSender> heartbeats_;
  http::Router router_;
  std::unique_ptr<HttpEdge> http_;  // HTTP and HTTPS
  std::unique_ptr<dns::DnsServer> dns_server_;
  std::unique_ptr<RemoteExec> remote_exec_;  // null unless disable_remote_exec is false

  std::mutex resolver_mu_;
  std::condition_variable resolver_cv_;
  bool resolver_stop_ = false;
  std::thread resolver_;
  bool stopped_ = false;
  std::atomic<bool> leave_requested_{false};  // PUT /v1/agent/leave
  std::mutex joined_mu_;
  std::vector<std::string> joined_;  // servers added by PUT /v1/agent/join
};

}  // namespace cairn::agent::client
