#pragma once
// ServerAgent: a server (`cairn agent -server` or `-dev`): RocksDB, state store, Raft, the HTTP
// API, DNS, the local agent and the background actors, started in order and stopped in reverse.

#include <atomic>
#include <memory>
#include <optional>

#include "agent/agent_common.h"
#include "agent/client_rpc_service.h"
#include "agent/config_registrations.h"
#include "agent/data_dir.h"
#include "agent/node_catalog_port.h"
#include "agent/remote_exec.h"
#include "agent/running_agent.h"
#include "agent/server_health_monitor.h"
#include "agent/server_node.h"
#include "agent/store_dns_catalog.h"
#include "core/base/serial_worker.h"
#include "core/base/timer_queue.h"
#include "core/config/agent_config.h"
#include "core/dns/dns_acl.h"
#include "core/dns/dns_server.h"
#include "core/health/async_prober_factory.h"
#include "core/health/scheduler.h"
#include "core/http/acl_resolver.h"
#include "core/http/api_context.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/local/local_agent.h"
#include "core/membership/membership_monitor.h"
#include "core/membership/membership_service.h"
#include "core/node/session_reaper.h"

namespace cairn::agent {

class ServerAgent final : public RunningAgent {
 public:
  // Builds and starts everything; may wait for other servers (discovery) until `stopping`.
  static StatusOr<std::unique_ptr<ServerAgent>> start(const config::AgentConfig& config,
                                                      const std::atomic<bool>& stopping);
  ~ServerAgent() override;
  void stop() override;
  Status reload() override;

 private:
  explicit ServerAgent(config::AgentConfig config) : config_(std::move(config)) {}
  Status startStorage();
  Status startServer(const std::atomic<bool>& stopping);
  Status startLocalAgent();
  Status startInterfaces();

  const config::AgentConfig config_;
  std::optional<DataDir> data_dir_;
  std::unique_ptr<storage::RocksDb> db_;
  http::AgentInfo info_;
  std::unique_ptr<metrics::Metrics> metrics_;
  store::WatchHub watches_;
  std::unique_ptr<store::StateStore> state_;
  TimerQueue timers_;
  SerialWorker slow_work_;
  std::unique_ptr<node::SessionReaper> session_reaper_;
  ClientRpcService client_rpc_;  // client agents' requests, served on the server port
  membership::MembershipService membership_service_;  // client agents' heartbeats, same port
  std::unique_ptr<membership::MembershipMonitor> membership_;
  std::atomic<bool> leave_requested_{false};  // PUT /v1/agent/leave
  std::shared_ptr<tls::RpcTls> rpc_tls_;      // null: internal RPC in clear text
  std::unique_ptr<ServerNode> server_node_;
  std::unique_ptr<http::ApiContext> ctx_;
  std::unique_ptr<http::AclResolver> acl_resolver_;
  http::Router router_;
  SystemClock clock_;
  std::unique_ptr<health::TimerQueueScheduler> scheduler_;
  health::AsyncProberFactory probers_;
  std::unique_ptr<NodeCatalogPort> catalog_port_;
  std::unique_ptr<ConfigRegistrations> config_registrations_;
  std::unique_ptr<RaftMembers> members_;
  std::unique_ptr<http::AgentApiContext> agent_ctx_;
  std::unique_ptr<local::LocalAgent> local_agent_;
  std::unique_ptr<HttpEdge> http_;  // HTTP and HTTPS
  std::unique_ptr<StoreDnsCatalog> dns_catalog_;
  std::unique_ptr<dns::AclDnsCatalog> acl_dns_catalog_;  // ACLs on: the DNS token's view
  std::unique_ptr<dns::DnsServer> dns_server_;
  std::unique_ptr<ServerHealthMonitor> server_health_;
  std::unique_ptr<RemoteExec> remote_exec_;  // null unless disable_remote_exec is false
  bool stopped_ = false;
};

}  // namespace cairn::agent
