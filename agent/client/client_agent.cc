#include "agent/client/client_agent.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <random>

#include "agent/agent_common.h"
#include "agent/version.h"
#include "core/base/logging.h"
#include "core/http/agent_routes.h"
#include "core/http/handlers.h"
#include "core/http/membership_routes.h"
#include "core/http/ui_handlers.h"
#include "core/node/cluster_service.h"

namespace cairn::agent::client {
namespace {

constexpr char kLog[] = "client";
// A forwarded DNS query: the DNS thread waits for it, so it is short.
constexpr auto kDnsTimeout = std::chrono::seconds(2);
// How long /v1/agent/members and force-leave look for a server before giving up (members then
// answers this agent's own view).
constexpr auto kMembershipForwardFor = std::chrono::seconds(3);
// How long PUT /v1/agent/join waits for a server's answer.
constexpr auto kJoinTimeout = std::chrono::seconds(5);

// The DNS server's catalog on a client: never consulted (every query is forwarded).
class NoDnsCatalog final : public dns::DnsCatalog {
 public:
  std::optional<dns::DnsNode> node(std::string_view) const override { return std::nullopt; }
  std::vector<dns::DnsServiceInstance> serviceInstances(std::string_view) const override {
    return {};
  }
  std::vector<dns::DnsNode> servers() const override { return {}; }
  std::vector<dns::DnsNode> nodesWithAddress(std::string_view) const override { return {}; }
};

const NoDnsCatalog kNoDnsCatalog;

}  // namespace

std::vector<http::AgentMember> KnownServersMembers::members() const {
  std::vector<http::AgentMember> out;
  http::AgentMember self;
  self.name = self_.node_name;
  self.id = self_.node_id;
  self.addr = self_.advertise_addr;
  self.port = http_port_;  // what the servers list for a client (there is no Serf port)
  self.server = false;
  out.push_back(self);
  for (const auto& address : connection_.servers()) {
    http::AgentMember m;
    auto colon = address.rfind(':');
    m.name = address;
    m.addr = address.substr(0, colon);
    m.port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
    out.push_back(m);
  }
  return out;
}

StatusOr<std::unique_ptr<ClientAgent>> ClientAgent::start(const config::AgentConfig& config,
                                                          Options options) {
  if (config.retry_join.empty()) {
    LOG_WARN("agent",
             "no -retry-join: this client agent knows no server until `cairn join <address>`");
  }
  std::unique_ptr<ClientAgent> a(new ClientAgent(config, options));
  CAIRN_RETURN_IF_ERROR(a->startLocal());
  CAIRN_RETURN_IF_ERROR(a->startInterfaces());
  LOG_INFO("agent", "Cairn client agent running: node="
                        << a->info_.node_name << " dc=" << a->info_.datacenter << " http="
                        << config.http_addr << ":" << a->httpPort() << " dns=" << config.dns_addr
                        << ":" << config.dns_port << " data-dir=" << a->data_dir_->path());
  return a;
}

// The data dir (local registry only), the connection to the servers and the local agent.
Status ClientAgent::startLocal() {
  auto data_dir = DataDir::prepare(config_.data_dir, config_.dev);
  if (!data_dir.isOk()) return data_dir.status();
  data_dir_.emplace(std::move(*data_dir));
  auto node_id = data_dir_->nodeId();
  if (!node_id.isOk()) return node_id.status();
  // A client keeps no Raft log or vote, only its local registry, which its services register
  // again: a missing database under a known identity is created, not refused as on a server
  // (the sidecar writes its node ID before the first start).
  auto db = storage::RocksDb::open(data_dir_->path() + "/db", nullptr, /*must_exist=*/false);
  if (!db.isOk()) return db.status();
  db_ = std::move(*db);
  info_ = agentInfo(config_, *node_id);
  metrics_ = std::make_unique<metrics::Metrics>(kVersion, kRevision);
  auto rpc_tls = rpcTls(config_, /*serves=*/false);
  if (!rpc_tls.isOk()) return rpc_tls.status();
  rpc_tls_ = std::move(*rpc_tls);
  ServerConnection::Options connection = options_.connection;
  connection.tls = rpc_tls_;
  connection_ = std::make_unique<ServerConnection>(clock_, connection);
  HttpForwarder::Options forwarding = options_.forwarder;
  forwarding.node_name = info_.node_name;
  forwarding.default_token = config_.acl_default_token;
  forwarder_ = std::make_unique<HttpForwarder>(*connection_, timers_, clock_, forwarding);
  // One token for all of anti-entropy (docs/security.md, "Client agents and sidecars"): the
  // agent token, as Consul syncs the node with, else the default token.
  catalog_port_ = std::make_unique<RemoteCatalogPort>(
      *connection_, info_.node_name,
      config_.acl_agent_token.empty() ? config_.acl_default_token : config_.acl_agent_token);
  members_ = std::make_unique<KnownServersMembers>(*connection_, info_, config_.http_port);
  agent_ctx_ = std::make_unique<http::AgentApiContext>(
      http::AgentApiContext{info_, *metrics_, *members_, slow_work_, &db_->health()});
  scheduler_ = std::make_unique<health::TimerQueueScheduler>(clock_, timers_);
  local::LocalOptions local_options;
  local_options.enable_script_checks = config_.enable_script_checks;
  local_options.check_update_interval = Nanos(config_.check_update_interval_ns);
  auto local_agent = local::LocalAgent::open(
      localIdentity(info_), local_options,
      {catalog_port_.get(), db_.get(), scheduler_.get(), &probers_, std::random_device{}()});
  if (!local_agent.isOk()) return local_agent.status();
  local_agent_ = std::move(*local_agent);
  return Status::ok();
}

// Routes, HTTP, DNS, the server resolver, then anti-entropy.
Status ClientAgent::startInterfaces() {
  http::addAgentSelfRoutes(router_, *agent_ctx_);
  http::addClientMembershipRoutes(router_, *agent_ctx_,
                                  {[this](http::RequestPtr request, http::Responder respond,
                                          std::function<void(const std::string&)> unreachable) {
                                     forwarder_->forward(
                                         std::move(request), std::move(respond),
                                         {kMembershipForwardFor, std::move(unreachable)});
                                   },
                                   [this] {
                                     // PUT /v1/agent/leave: leave and stop, as SIGTERM with
                                     // leave_on_terminate.
                                     leave_requested_ = true;
                                     kill(getpid(), SIGTERM);
                                   },
                                   [this](const std::string& address, http::Responder respond) {
                                     join(address, std::move(respond));
                                   }});
  http::addAgentRoutes(router_, *agent_ctx_, *local_agent_);
  // Other /v1/agent/* paths are about this agent: never answered by a server.
  router_.add(http::Route{"/v1/agent/",
                          true,
                          {"GET", "HEAD", "PUT", "POST", "DELETE"},
                          [](http::RequestPtr, http::Responder respond) {
                            respond(http::textResponse(
                                404, "Invalid URL path: not a recognized HTTP API endpoint"));
                          }});
  if (config_.ui_enabled) {
    http::addUiRoutes(router_, http::embeddedUiAssets(), http::embeddedUiVersion());
  }
  router_.add(http::Route{"/",
                          true,
                          {"GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"},
                          forwarder_->handler(),
                          http::kMaxSnapshotBody});
  resolveServers();  // a name that resolves now gives a server before the first request
  resolver_ = std::thread([this] { resolverLoop(); });
  auto edge = HttpEdge::start(router_, *metrics_, config_, httpOptions());
  if (!edge.isOk()) return edge.status();
  http_ = std::move(*edge);
  dns::DnsServerOptions dns_options;
  dns_options.forward = [this](std::span<const uint8_t> query, dns::Transport transport) {
    return forwardDns(query, transport);
  };
  auto dns_server = startDns(config_, kNoDnsCatalog, std::move(dns_options));
  if (!dns_server.isOk()) return dns_server.status();
  dns_server_ = std::move(*dns_server);
  writePidFile(config_.pid_file);
  local_agent_->start();
  startHeartbeats();
  remote_exec_ = RemoteExec::startFor(config_, http_->httpPort(), info_.node_name);
  return Status::ok();
}

bool ClientAgent::resolveServers() {
  std::vector<std::string> servers;
  for (const auto& spec : config_.retry_join) {
    auto resolved = node::resolveJoinAddress(spec, config_.server_port);
    if (!resolved.isOk()) {
      LOG_WARN(kLog, resolved.status().message());
      continue;
    }
    servers.insert(servers.end(), resolved->begin(), resolved->end());
  }
  {
    std::lock_guard lock(joined_mu_);
    servers.insert(servers.end(), joined_.begin(), joined_.end());
  }
  if (servers.empty()) return false;
  connection_->setServers(servers);
  return true;
}

void ClientAgent::join(const std::string& address, http::Responder respond) {
  // Resolving a name blocks: not on the HTTP thread. The probes are asynchronous.
  slow_work_.post([this, address, respond = std::move(respond)] {
    auto resolved = node::resolveJoinAddress(address, config_.server_port);
    if (!resolved.isOk()) {
      return finishJoin(address, {},
                        {"Failed to resolve " + address + ": " + resolved.status().message()},
                        respond);
    }
    struct Probes {
      std::mutex mu;
      size_t pending;
      std::vector<std::string> answered;
      std::vector<std::string> errors;
    };
    auto probes = std::make_shared<Probes>();
    probes->pending = resolved->size();
    for (const std::string& server : *resolved) {
      connection_->probe(server, kJoinTimeout, [this, address, server, probes, respond](Status s) {
        std::unique_lock lock(probes->mu);
        if (s.isOk()) {
          probes->answered.push_back(server);
        } else {
          probes->errors.push_back("Failed to join " + server + ": " + s.message());
        }
        if (--probes->pending > 0) return;
        lock.unlock();
        finishJoin(address, std::move(probes->answered), probes->errors, respond);
      });
    }
  });
}

// Consul's answers: 200 with an empty body, or 500 with its multierror text.
void ClientAgent::finishJoin(const std::string& address, std::vector<std::string> answered,
                             const std::vector<std::string>& errors, http::Responder respond) {
  if (answered.empty()) {
    std::string text = std::to_string(errors.size()) +
                       (errors.size() == 1 ? " error occurred:\n" : " errors occurred:\n");
    for (const auto& e : errors) text += "\t* " + e + "\n";
    LOG_WARN(kLog, "join " << address << " failed: " << errors.front());
    return respond(http::textResponse(500, text + "\n"));
  }
  {
    std::lock_guard lock(joined_mu_);
    for (const auto& a : answered) {
      if (std::find(joined_.begin(), joined_.end(), a) == joined_.end()) joined_.push_back(a);
    }
  }
  connection_->addServers(answered);
  LOG_INFO(kLog, "joined " << address << ": " << answered.size() << " server(s) answered");
  respond(http::jsonResponse(""));
}

void ClientAgent::resolverLoop() {
  bool known = !connection_->servers().empty();
  std::unique_lock lock(resolver_mu_);
  while (!resolver_stop_) {
    Nanos wait = known ? options_.rejoin_interval : options_.retry_interval;
    if (resolver_cv_.wait_for(lock, wait, [this] { return resolver_stop_; })) break;
    lock.unlock();
    known = resolveServers() || known;
    // Channels of servers that left the list are released here, never on a gRPC thread.
    connection_->releaseRetired();
    lock.lock();
  }
}

std::optional<std::vector<uint8_t>> ClientAgent::forwardDns(std::span<const uint8_t> query,
                                                            dns::Transport transport) {
  for (int attempt = 0; attempt < 2; ++attempt) {  // a failed server: once more, elsewhere
    auto target = connection_->target();
    if (!target) return std::nullopt;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kDnsTimeout);
    v1::DnsQuery request;
    request.set_packet(std::string(query.begin(), query.end()));
    request.set_tcp(transport == dns::Transport::kTcp);
    v1::DnsReply reply;
    grpc::Status s = target->stub->Dns(&context, request, &reply);
    if (s.ok()) {
      if (reply.packet().empty()) return std::nullopt;
      return std::vector<uint8_t>(reply.packet().begin(), reply.packet().end());
    }
    LOG_DEBUG(kLog, "DNS forward to " << target->address << " failed: " << s.error_message());
    connection_->reportFailure(*target);
  }
  return std::nullopt;  // dropped: the resolver asks again
}

int ClientAgent::httpPort() const { return http_ ? http_->httpPort() : 0; }

Status ClientAgent::reload() { return reloadConfig(config_, nullptr, http_.get(), rpc_tls_.get()); }

// Membership without gossip (docs/agent.md, "Membership"): the servers learn this agent is alive
// from these heartbeats, and each answer lists the servers to fail over to.
void ClientAgent::startHeartbeats() {
  v1::ClientMember self;
  self.set_node_name(info_.node_name);
  self.set_node_id(info_.node_id);
  self.set_address(info_.advertise_addr);
  self.set_http_port(static_cast<uint32_t>(std::max(0, httpPort())));
  self.set_dns_port(static_cast<uint32_t>(std::max(0, config_.dns_port)));
  self.set_datacenter(info_.datacenter);
  self.set_build(info_.version);
  for (const auto& [k, v] : info_.node_meta) (*self.mutable_meta())[k] = v;
  ServerConnection* connection = connection_.get();
  membership::HeartbeatSenderDeps deps;
  deps.scheduler = scheduler_.get();
  deps.channel = [connection] { return connection->channel(); };
  deps.on_servers = [connection](const v1::HeartbeatResponse& reply) {
    std::vector<std::string> servers;
    for (const auto& s : reply.servers()) {
      if (!s.rpc_address().empty()) servers.push_back(s.rpc_address());
    }
    if (!servers.empty()) connection->setServers(servers);
  };
  deps.on_failure = [connection](const Status&, const std::shared_ptr<grpc::Channel>& channel) {
    connection->reportChannelFailure(channel);
  };
  heartbeats_ = std::make_unique<membership::HeartbeatSender>(
      std::move(self), membership::HeartbeatSenderOptions{}, std::move(deps));
  heartbeats_->start();
}

// With leave_on_terminate (default true on clients) or after PUT /v1/agent/leave the servers
// are told at once (the node is marked left and deregistered); otherwise they fail it after
// client_timeout.
void ClientAgent::leaveOrStopHeartbeats() {
  if (!heartbeats_) return;
  if (!config_.leave_on_terminate && !leave_requested_) {
    heartbeats_->stop();
    return;
  }
  auto left = std::make_shared<std::promise<Status>>();
  heartbeats_->leave([left](Status s) { left->set_value(std::move(s)); });
  auto outcome = left->get_future();
  if (outcome.wait_for(std::chrono::seconds(6)) != std::future_status::ready) {
    LOG_WARN("agent", "leave: no answer from the servers");
  } else if (Status s = outcome.get(); !s.isOk()) {
    LOG_WARN("agent", "leave: " << s.message());
  }
}

void ClientAgent::stop() {
  if (stopped_) return;
  stopped_ = true;
  remote_exec_.reset();  // kills the jobs still running
  leaveOrStopHeartbeats();
  if (local_agent_) local_agent_->stop();
  {
    std::lock_guard lock(resolver_mu_);
    resolver_stop_ = true;
  }
  resolver_cv_.notify_all();
  if (resolver_.joinable()) resolver_.join();
  if (http_) http_->stop();
  if (dns_server_) dns_server_->stop();
  releaseLocalState(config_.pid_file, db_.get(), data_dir_);
}

ClientAgent::~ClientAgent() { stop(); }

}  // namespace cairn::agent::client
