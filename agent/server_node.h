#pragma once
// ServerNode: the replication side of a server agent, assembled from its config — the RocksDB
// log store, the gRPC transport and cluster service on the server port, and the RaftNode — and
// how it enters a cluster: bootstrap (-dev, -bootstrap, -bootstrap-expect 1), discovery of
// -bootstrap-expect N servers through -retry-join, or joining an existing cluster.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <memory>
#include <thread>

#include "core/config/agent_config.h"
#include "core/http/router.h"
#include "core/node/cluster_service.h"
#include "core/node/raft_node.h"
#include "core/storage/log_store.h"
#include "core/tls/rpc_tls.h"
#include "core/transport/transport.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace cairn::agent {

class ServerNode {
 public:
  // Opens the log, enters the cluster (blocking until the plan is known, or `stopping` turns
  // true) and starts Raft. Refuses a data dir whose cluster differs from the -retry-join servers'.
  // `extra_services` are served on the server port too (not owned; outlive the ServerNode).
  static StatusOr<std::unique_ptr<ServerNode>> start(
      const config::AgentConfig& config, const std::string& node_id, storage::RocksDb& db,
      store::StateStore& state, metrics::Metrics& metrics, const std::atomic<bool>& stopping,
      std::vector<grpc::Service*> extra_services, std::shared_ptr<tls::RpcTls> rpc_tls = nullptr);
  ~ServerNode();

  node::Node& node() { return *raft_; }
  // Leaves the configuration first when `leave` (leave_on_terminate), then stops Raft and the
  // transport. Call once, from the shutdown path.
  void shutdown(bool leave);
  // Test-only fault injection (CAIRN_FAULT_INJECTION=1): PUT /v1/cairn/debug/blocked-peers with
  // a JSON array of RPC addresses cuts this server off from them.
  void addFaultInjectionRoutes(http::Router& router);

 private:
  ServerNode() = default;
  Status enterCluster(const config::AgentConfig& config, const std::atomic<bool>& stopping);

  v1::ServerInfo self_;
  std::vector<std::string> retry_join_;
  std::unique_ptr<storage::LogStore> log_;
  std::unique_ptr<transport::Transport> transport_;
  std::unique_ptr<node::ClusterService> service_;
  std::unique_ptr<node::RaftNode> raft_;
  std::string pending_join_cluster_;  // set when the plan is to join
  std::thread joiner_;
  std::atomic<bool> stop_join_{false};
  bool shut_down_ = false;
};

}  // namespace cairn::agent
