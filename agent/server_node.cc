#include "agent/server_node.h"

#include <cpprest/json.h>

#include "core/base/logging.h"
#include "core/http/read_query.h"
#include "core/storage/rocksdb_log_store.h"
#include "core/transport/grpc_transport.h"

namespace cairn::agent {
namespace {

std::string advertisedHost(const config::AgentConfig& c) {
  if (!c.advertise_addr.empty()) return c.advertise_addr;
  if (!c.bind_addr.empty() && c.bind_addr != "0.0.0.0") return c.bind_addr;
  return "127.0.0.1";
}

// Where peers reach this agent's HTTP API: -client, unless it listens on every address.
std::string advertisedHttpAddress(const config::AgentConfig& c) {
  bool any = c.client_addr.empty() || c.client_addr == "0.0.0.0" || c.client_addr == "::" ||
             c.client_addr == "[::]";
  std::string host = any ? advertisedHost(c) : c.client_addr;
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return host + ":" + std::to_string(c.http_port);
}

std::vector<v1::ServerInfo> bootstrapServers(const storage::LogStore& log) {
  v1::ServerList list;
  if (auto bytes = log.stable("bootstrap_servers")) list.ParseFromString(*bytes);
  return {list.servers().begin(), list.servers().end()};
}

}  // namespace

StatusOr<std::unique_ptr<ServerNode>> ServerNode::start(
    const config::AgentConfig& config, const std::string& node_id, storage::RocksDb& db,
    store::StateStore& state, metrics::Metrics& metrics, const std::atomic<bool>& stopping,
    std::vector<grpc::Service*> extra_services, std::shared_ptr<tls::RpcTls> rpc_tls) {
  std::unique_ptr<ServerNode> s(new ServerNode());
  s->self_.set_id(node::raftIdFromNodeId(node_id));
  s->self_.set_node_id(node_id);
  s->self_.set_name(config.node_name);
  s->self_.set_address(advertisedHost(config) + ":" + std::to_string(config.server_port));
  s->self_.set_http_address(advertisedHttpAddress(config));
  s->retry_join_ = config.retry_join;
  auto log = storage::RocksDbLogStore::open(db, db.dir() + "/RAFT-WATERMARK");
  if (!log.isOk()) return log.status();
  s->log_ = std::move(*log);
  if (!config.dev) {
    transport::GrpcTransportOptions transport_options;
    transport_options.advertise_address = s->self_.address();  // what peers dial and block
    transport_options.extra_services = std::move(extra_services);
    transport_options.tls = std::move(rpc_tls);  // mutual TLS with peers (docs/security.md)
    s->transport_ = std::make_unique<transport::GrpcTransport>(transport_options);
    s->service_ = std::make_unique<node::ClusterService>(s->self_, config.datacenter,
                                                         config.bootstrap_expect);
    std::string listen = config.bind_addr + ":" + std::to_string(config.server_port);
    if (Status st = s->transport_->start(listen, s->service_.get()); !st.isOk()) return st;
  }
  CAIRN_RETURN_IF_ERROR(s->enterCluster(config, stopping));
  node::RaftNode::Options options;
  options.self = s->self_;
  options.storage_health = &db.health();
  s->raft_ = std::make_unique<node::RaftNode>(
      options, *s->log_, state, s->transport_.get(), metrics,
      [](std::function<void()> fn) { http::postWork(std::move(fn)); });
  CAIRN_RETURN_IF_ERROR(s->raft_->start());
  if (s->service_) {
    s->service_->attach(s->raft_.get(), s->raft_->clusterId(), bootstrapServers(*s->log_));
  }
  if (!s->pending_join_cluster_.empty()) {
    ServerNode* self = s.get();
    s->joiner_ = std::thread([self] {
      Status st =
          self->service_->join(*self->transport_, self->retry_join_, self->pending_join_cluster_,
                               [self] { return self->stop_join_.load(); });
      if (!st.isOk()) LOG_ERROR("cluster", "could not join the cluster: " << st.message());
    });
  }
  return s;
}

Status ServerNode::enterCluster(const config::AgentConfig& config,
                                const std::atomic<bool>& stopping) {
  if (log_->hasState()) {
    std::string mine = log_->stable("cluster_id").value_or("");
    if (!transport_) return Status::ok();
    for (const auto& theirs : service_->peerClusterIds(*transport_, retry_join_)) {
      if (theirs != mine) {
        return invalidArgument("the data dir belongs to cluster " + mine +
                               ", but the -retry-join servers are cluster " + theirs +
                               ": refusing to start (use an empty -data-dir to join them)");
      }
    }
    // Ask to join again (a no-op for a member): a server that left on SIGTERM, or was removed
    // while it was down, comes back on its data dir without operator action, as with Consul.
    if (!retry_join_.empty()) pending_join_cluster_ = mine;
    return Status::ok();
  }
  if (config.dev || config.bootstrap || config.bootstrap_expect == 1) {
    return node::RaftNode::bootstrap(*log_, {self_}, node::clusterIdFor({self_}));
  }
  if (config.retry_join.empty()) {
    return invalidArgument(
        "a new server needs -bootstrap, -bootstrap-expect or -retry-join to "
        "form or join a cluster");
  }
  auto plan = service_->discover(*transport_, retry_join_, [&stopping] { return stopping.load(); });
  if (!plan.isOk()) return plan.status();
  if (plan->bootstrap) {
    LOG_INFO("cluster", "bootstrapping cluster " << plan->cluster_id << " with "
                                                 << plan->voters.size() << " voters");
    CAIRN_RETURN_IF_ERROR(node::RaftNode::bootstrap(*log_, plan->voters, plan->cluster_id));
  } else {
    CAIRN_RETURN_IF_ERROR(log_->setStable("cluster_id", plan->cluster_id));
    pending_join_cluster_ = plan->cluster_id;
  }
  return Status::ok();
}

ServerNode::~ServerNode() { shutdown(false); }

void ServerNode::shutdown(bool leave) {
  stop_join_ = true;
  if (joiner_.joinable()) joiner_.join();
  if (!raft_ || shut_down_) return;
  shut_down_ = true;
  if (leave) {
    Status s = raft_->leave(std::chrono::seconds(5));
    if (s.isOk()) {
      LOG_INFO("cluster", "left the cluster");
    } else {
      LOG_WARN("cluster", "could not leave the cluster: " << s.message());
    }
  }
  raft_->stop();
  if (transport_) transport_->stop();
  // raft_ stays allocated: HTTP handlers still running hold references to it (they now get
  // "agent is shutting down").
}

void ServerNode::addFaultInjectionRoutes(http::Router& router) {
  if (!transport_) return;
  transport::Transport* transport = transport_.get();
  router.add(http::Route{"/v1/cairn/debug/blocked-peers",
                         false,
                         {"PUT"},
                         [transport](http::RequestPtr req, http::Responder respond) {
                           std::set<std::string> blocked;
                           try {
                             web::json::value parsed = web::json::value::parse(req->body);
                             for (const auto& v : parsed.as_array()) blocked.insert(v.as_string());
                           } catch (const std::exception& e) {
                             return respond(
                                 http::textResponse(400, std::string("expected a JSON array of "
                                                                     "addresses: ") +
                                                             e.what()));
                           }
                           transport->setBlockedPeers(std::move(blocked));
                           respond(http::jsonResponse("true"));
                         },
                         http::Router::kDefaultMaxBody});
}

}  // namespace cairn::agent
