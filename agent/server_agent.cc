#include "agent/server_agent.h"

#include <unistd.h>

#include <csignal>
#include <random>

#include "agent/agent_common.h"
#include "agent/version.h"
#include "core/base/logging.h"
#include "core/http/acl_enforcer.h"
#include "core/http/agent_routes.h"
#include "core/http/handlers.h"
#include "core/http/membership_routes.h"
#include "core/http/ui_handlers.h"

namespace cairn::agent {
namespace {

int64_t wallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace
namespace {

http::AclSettings aclSettings(const config::AgentConfig& config) {
  http::AclSettings s;
  s.enabled = config.acl_enabled;
  auto policy = acl::parseDefaultPolicy(config.acl_default_policy);
  s.default_policy = policy.isOk() ? *policy : acl::DefaultPolicy::kDeny;  // validated by config
  s.down_policy = config.acl_down_policy;
  s.enable_token_persistence = config.acl_enable_token_persistence;
  s.initial_management = config.acl_initial_management;
  s.agent_token = config.acl_agent_token;
  s.default_token = config.acl_default_token;
  s.dns_token = config.acl_dns_token;
  return s;
}

}  // namespace

StatusOr<std::unique_ptr<ServerAgent>> ServerAgent::start(const config::AgentConfig& config,
                                                          const std::atomic<bool>& stopping) {
  std::unique_ptr<ServerAgent> a(new ServerAgent(config));
  CAIRN_RETURN_IF_ERROR(a->startStorage());
  CAIRN_RETURN_IF_ERROR(a->startServer(stopping));
  CAIRN_RETURN_IF_ERROR(a->startLocalAgent());
  CAIRN_RETURN_IF_ERROR(a->startInterfaces());
  LOG_INFO("agent", "Cairn agent running: node="
                        << a->info_.node_name << " dc=" << a->info_.datacenter
                        << " http=" << config.http_addr << ":" << config.http_port
                        << " https=" << config.https_addr << ":" << config.https_port
                        << " dns=" << config.dns_addr << ":" << config.dns_port << " data-dir="
                        << a->data_dir_->path() << " applied-index=" << a->state_->appliedIndex());
  return a;
}

// The data dir, its node ID, RocksDB, the metrics that watch it and the state store.
Status ServerAgent::startStorage() {
  auto data_dir = DataDir::prepare(config_.data_dir, config_.dev);
  if (!data_dir.isOk()) return data_dir.status();
  data_dir_.emplace(std::move(*data_dir));
  bool had_identity = data_dir_->hasNodeId();
  auto node_id = data_dir_->nodeId();
  if (!node_id.isOk()) return node_id.status();
  auto db = storage::RocksDb::open(data_dir_->path() + "/db", nullptr, had_identity);
  if (!db.isOk()) return db.status();
  db_ = std::move(*db);
  info_ = agentInfo(config_, *node_id);
  metrics_ = std::make_unique<metrics::Metrics>(kVersion, kRevision);
  storage::RocksDb* rocks = db_.get();
  metrics_->setRocksDbSizeProbe([rocks] { return rocks->approximateSizeBytes(); });
  metrics_->setStorageFaultsProbe([rocks] {
    auto v = rocks->health().view();
    return metrics::StorageFaults{
        v.diskFull(), v.write_fault == storage::StorageHealth::WriteFault::kIoError, v.corrupted};
  });
  state_ = std::make_unique<store::StateStore>(*db_, watches_);
  session_reaper_ = std::make_unique<node::SessionReaper>(timers_);
  state_->setSessionObserver(session_reaper_.get());
  return Status::ok();
}

// Raft (entering the cluster) and the server-side HTTP routes.
Status ServerAgent::startServer(const std::atomic<bool>& stopping) {
  auto rpc_tls = rpcTls(config_, /*serves=*/true);
  if (!rpc_tls.isOk()) return rpc_tls.status();
  rpc_tls_ = std::move(*rpc_tls);
  auto server_node = ServerNode::start(config_, info_.node_id, *db_, *state_, *metrics_, stopping,
                                       {&client_rpc_, &membership_service_}, rpc_tls_);
  if (!server_node.isOk()) return server_node.status();
  server_node_ = std::move(*server_node);
  ctx_ = std::make_unique<http::ApiContext>(http::ApiContext{server_node_->node(), *state_,
                                                             watches_, timers_, slow_work_,
                                                             *metrics_, info_, &db_->health()});
  http::addKvRoutes(router_, *ctx_);
  http::addTxnRoutes(router_, *ctx_);
  http::addStatusRoutes(router_, *ctx_);
  http::addOperatorRoutes(router_, *ctx_);
  http::addSnapshotRoutes(router_, *ctx_);
  http::addCatalogRoutes(router_, *ctx_);
  http::addHealthRoutes(router_, *ctx_);
  http::addPreparedQueryRoutes(router_, *ctx_);
  // ACLs (docs/security.md): /v1/acl/* answers 401 while they are off.
  acl_resolver_ = std::make_unique<http::AclResolver>(*state_, aclSettings(config_));
  ctx_->acl = acl_resolver_.get();
  http::addAclRoutes(router_, *ctx_);
  return Status::ok();
}

// The local agent (own services and checks, anti-entropy through this server's Node) and the
// /v1/agent/* routes.
Status ServerAgent::startLocalAgent() {
  scheduler_ = std::make_unique<health::TimerQueueScheduler>(clock_, timers_);
  catalog_port_ = std::make_unique<NodeCatalogPort>(ctx_->node, *state_);
  members_ = std::make_unique<RaftMembers>(ctx_->node, *state_, info_);
  agent_ctx_ = std::make_unique<http::AgentApiContext>(
      http::AgentApiContext{info_, *metrics_, *members_, slow_work_, &db_->health()});
  local::LocalOptions local_options;
  local_options.enable_script_checks = config_.enable_script_checks;
  local_options.check_update_interval = Nanos(config_.check_update_interval_ns);
  auto local_agent = local::LocalAgent::open(
      localIdentity(info_), local_options,
      {catalog_port_.get(), db_.get(), scheduler_.get(), &probers_, std::random_device{}()});
  if (!local_agent.isOk()) return local_agent.status();
  local_agent_ = std::move(*local_agent);
  config_registrations_ = std::make_unique<ConfigRegistrations>(
      *local_agent_, data_dir_->path() + "/config-registrations");
  CAIRN_RETURN_IF_ERROR(config_registrations_->apply(config_));
  http::addAgentSelfRoutes(router_, *agent_ctx_);
  http::addAgentRoutes(router_, *agent_ctx_, *local_agent_, [this] { return reload(); });
  // Client agents' liveness (docs/agent.md, "Membership"): heartbeats arrive on the server port.
  membership::MembershipMonitorOptions membership_options;
  if (config_.client_timeout_ns > 0) {
    membership_options.liveness.client_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::nanoseconds(config_.client_timeout_ns));
  }
  membership_ = std::make_unique<membership::MembershipMonitor>(
      membership_options,
      membership::MembershipMonitorDeps{&ctx_->node, state_.get(), scheduler_.get(), wallNowMs});
  membership_service_.attach(&ctx_->node, membership_.get(), rpc_tls_);
  http::addMembershipRoutes(
      router_, *ctx_,
      {[this](const std::string& node, bool prune, std::function<void(Status)> done) {
         membership_->forceLeave(node, prune, std::move(done));
       },
       [this] {
         // PUT /v1/agent/leave: leave the cluster and stop, as SIGTERM with leave_on_terminate.
         leave_requested_ = true;
         kill(getpid(), SIGTERM);
       }});
  http::addSessionRoutes(router_, *ctx_);
  http::addEventRoutes(router_, *ctx_);
  if (config_.ui_enabled) {
    http::addUiRoutes(router_, http::embeddedUiAssets(), http::embeddedUiVersion());
  }
  return Status::ok();
}

// HTTP, DNS, then the actors that write: session TTLs, anti-entropy, server health.
Status ServerAgent::startInterfaces() {
  session_reaper_->start(ctx_->node, *state_);
  if (const char* f = std::getenv("CAIRN_FAULT_INJECTION"); f && std::string(f) == "1") {
    server_node_->addFaultInjectionRoutes(router_);
  }
  // The ACL guard sees every route, so it is installed once all are registered; with ACLs off
  // (the default) there is none and no request is looked at.
  if (config_.acl_enabled) {
    router_.setGuard(http::aclGuard(*acl_resolver_, *state_, info_.node_name));
  }
  auto edge =
      HttpEdge::start(router_, *metrics_, config_,
                      httpOptions(config_.acl_enabled ? config_.acl_default_policy : "allow"));
  if (!edge.isOk()) return edge.status();
  http_ = std::move(*edge);
  node::Node& raft = ctx_->node;
  dns_catalog_ = std::make_unique<StoreDnsCatalog>(
      *state_,
      [&raft] {
        std::vector<std::string> names;
        for (const auto& s : raft.raftConfiguration().servers) names.push_back(s.node);
        return names;
      },
      info_.node_name);
  // With ACLs on, DNS answers show only what the DNS token may read (core/dns/dns_acl.h); client
  // agents forward their DNS queries here, so they get the same view.
  const dns::DnsCatalog* dns_view = dns_catalog_.get();
  if (config_.acl_enabled) {
    acl_dns_catalog_ = std::make_unique<dns::AclDnsCatalog>(
        *dns_catalog_, [resolver = acl_resolver_.get()] { return resolver->dnsAuthorizer(); });
    dns_view = acl_dns_catalog_.get();
  }
  auto dns_server = startDns(config_, *dns_view);
  if (!dns_server.isOk()) return dns_server.status();
  dns_server_ = std::move(*dns_server);
  auto dns_config = dnsConfig(config_);
  if (!dns_config.isOk()) return dns_config.status();
  client_rpc_.attach(
      {&router_, &ctx_->node, state_.get(), dns_view, *dns_config, acl_resolver_.get()});
  writePidFile(config_.pid_file);
  local_agent_->start();
  ServerHealthMonitor::Options health_options;
  health_options.node_name = info_.node_name;  // its `consul` service
  health_options.server_port = config_.server_port;
  health_options.version = info_.version;
  server_health_ =
      std::make_unique<ServerHealthMonitor>(ctx_->node, *state_, timers_, health_options);
  server_health_->start();
  membership_->start();
  remote_exec_ = RemoteExec::startFor(config_, http_->httpPort(), info_.node_name);
  return Status::ok();
}

Status ServerAgent::reload() {
  return reloadConfig(config_, config_registrations_.get(), http_.get(), rpc_tls_.get());
}

void ServerAgent::stop() {
  if (stopped_) return;
  stopped_ = true;
  remote_exec_.reset();  // kills the jobs still running
  if (local_agent_) local_agent_->stop();
  // The reaper's timers call into the Raft node, which ServerNode owns and the members below
  // outlive: stop them first (this also runs when start() failed half-way).
  if (session_reaper_) session_reaper_->stop();
  if (server_health_) server_health_->stop();
  if (membership_) membership_->stop();
  if (server_node_) server_node_->shutdown(config_.leave_on_terminate || leave_requested_);
  if (http_) http_->stop();
  if (dns_server_) dns_server_->stop();
  // Raft has stopped; reads still in flight do not mind the flush.
  releaseLocalState(config_.pid_file, db_.get(), data_dir_);
}

ServerAgent::~ServerAgent() { stop(); }

}  // namespace cairn::agent
