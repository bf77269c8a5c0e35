#pragma once
// ClusterService: what a server answers on its cluster port (cairn.v1.Cluster), before Raft runs
// (discovery for -bootstrap-expect / -retry-join) and after (it hands peer traffic to RaftNode).
// Also the client side of discovery and join, used once at start-up.

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/node/raft_node.h"
#include "core/transport/transport.h"

namespace cairn::node {

// A server's raft id: a stable non-zero hash of its node ID (UUID).
uint64_t raftIdFromNodeId(const std::string& node_id);

// The cluster id every bootstrap voter derives alike from the voters' node IDs.
std::string clusterIdFor(const std::vector<v1::ServerInfo>& voters);

// Expands one -retry-join value ("host", "host:port", "ip", "ip:port") into RPC addresses: a DNS
// name that resolves to several addresses gives one per address (Kubernetes headless services);
// a missing port means `default_port`. Blocking (DNS). Unresolvable names give an error.
StatusOr<std::vector<std::string>> resolveJoinAddress(const std::string& spec, int default_port);

// How this server enters the cluster when its log is empty.
struct ClusterPlan {
  bool bootstrap = false;              // bootstrap with `voters`; otherwise join the cluster
  std::vector<v1::ServerInfo> voters;  // sorted by id
  std::string cluster_id;
};

class ClusterService final : public transport::PeerService {
 public:
  ClusterService(v1::ServerInfo self, std::string datacenter, int bootstrap_expect);

  // Once Raft runs: peer traffic goes to `node`, and Hello reports the cluster. Before that,
  // raft traffic is dropped and membership requests are refused. `node` outlives the service.
  void attach(RaftNode* node, std::string cluster_id, std::vector<v1::ServerInfo> bootstrap);

  // Asks the -retry-join servers (every `interval`) until the plan is known: bootstrap once
  // `bootstrap_expect` servers (this one included) have found each other and none has a cluster;
  // join when one already does. Fails when `stopped()` turns true or a peer is in another
  // datacenter. Blocking: start-up only.
  StatusOr<ClusterPlan> discover(transport::Transport& transport,
                                 const std::vector<std::string>& retry_join,
                                 const std::function<bool()>& stopped);
  // Sends Join to the -retry-join servers (following leader redirects) until a leader adds this
  // server. Blocking; returns early with kUnavailable when `stopped()` turns true.
  Status join(transport::Transport& transport, const std::vector<std::string>& retry_join,
              const std::string& cluster_id, const std::function<bool()>& stopped);
  // The cluster ids the -retry-join servers report (those that answer within a second).
  std::vector<std::string> peerClusterIds(transport::Transport& transport,
                                          const std::vector<std::string>& retry_join);

  // transport::PeerService
  void onRaftMessages(std::vector<raft::Message> messages) override;
  void onForward(v1::ForwardRequest request, transport::Reply<v1::ForwardResponse> reply) override;
  void onHello(v1::HelloRequest request, transport::Reply<v1::HelloResponse> reply) override;
  void onJoin(v1::JoinRequest request, transport::Reply<v1::MembershipResponse> reply) override;
  void onLeave(v1::LeaveRequest request, transport::Reply<v1::MembershipResponse> reply) override;

 private:
  std::vector<v1::HelloResponse> helloAll(transport::Transport& transport,
                                          const std::vector<std::string>& retry_join);
  std::optional<ClusterPlan> planFrom(const std::vector<v1::HelloResponse>& answers);
  std::vector<std::string> addresses(const std::vector<std::string>& retry_join) const;

  const v1::ServerInfo self_;
  const std::string datacenter_;
  const int bootstrap_expect_;
  std::atomic<RaftNode*> node_{nullptr};
  mutable std::mutex mu_;
  std::map<uint64_t, v1::ServerInfo> known_;  // discovered servers, this one included
  std::string cluster_id_;
  std::vector<v1::ServerInfo> bootstrap_;  // the bootstrap voters, once attached
  Status fatal_;                           // set when discovery must stop (wrong datacenter)
};

}  // namespace cairn::node
