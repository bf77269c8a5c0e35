#include "core/node/cluster_service.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <future>
#include <thread>

#include "core/base/logging.h"

namespace cairn::node {
namespace {

constexpr auto kCallDeadline = std::chrono::milliseconds(1000);
constexpr auto kRetryInterval = std::chrono::milliseconds(500);

void sleepUnless(const std::function<bool()>& stopped, std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!stopped() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Splits "host[:port]"; a bracketed IPv6 literal keeps its brackets out of the host.
std::pair<std::string, std::string> splitHostPort(const std::string& spec) {
  if (!spec.empty() && spec[0] == '[') {
    auto close = spec.find(']');
    if (close == std::string::npos) return {spec, ""};
    std::string port =
        close + 1 < spec.size() && spec[close + 1] == ':' ? spec.substr(close + 2) : "";
    return {spec.substr(1, close - 1), port};
  }
  auto colon = spec.rfind(':');
  if (colon == std::string::npos || spec.find(':') != colon) return {spec, ""};
  return {spec.substr(0, colon), spec.substr(colon + 1)};
}

// The answer to a request that needs Raft, before this server has entered a cluster.
template <typename Response>
Response notInClusterYet() {
  Response r;
  r.set_error_code(static_cast<int>(StatusCode::kUnavailable));
  r.set_error("server is not part of a cluster yet");
  return r;
}

}  // namespace

std::string clusterIdFor(const std::vector<v1::ServerInfo>& voters) {
  uint64_t h1 = 1469598103934665603ull, h2 = 1099511628211ull;
  for (const auto& v : voters) {
    for (unsigned char c : v.node_id()) {
      h1 = (h1 ^ c) * 1099511628211ull;
      h2 = (h2 ^ c) * 1469598103934665603ull + 7;
    }
  }
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(h1 >> 32),
                static_cast<unsigned>((h1 >> 16) & 0xffff), static_cast<unsigned>(h1 & 0xffff),
                static_cast<unsigned>(h2 >> 48),
                static_cast<unsigned long long>(h2 & 0xffffffffffffull));
  return buf;
}

uint64_t raftIdFromNodeId(const std::string& node_id) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : node_id) h = (h ^ c) * 1099511628211ull;
  return h == 0 ? 1 : h;
}

StatusOr<std::vector<std::string>> resolveJoinAddress(const std::string& spec, int default_port) {
  auto [host, port] = splitHostPort(spec);
  if (host.empty()) return invalidArgument("empty -retry-join address \"" + spec + "\"");
  if (port.empty()) port = std::to_string(default_port);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return unavailable("cannot resolve -retry-join address \"" + spec + "\": " + gai_strerror(rc));
  }
  std::vector<std::string> out;
  for (addrinfo* a = result; a; a = a->ai_next) {
    char ip[INET_ADDRSTRLEN];
    auto* sin = reinterpret_cast<sockaddr_in*>(a->ai_addr);
    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
    std::string address = std::string(ip) + ":" + std::to_string(ntohs(sin->sin_port));
    if (std::find(out.begin(), out.end(), address) == out.end()) out.push_back(address);
  }
  freeaddrinfo(result);
  return out;
}

ClusterService::ClusterService(v1::ServerInfo self, std::string datacenter, int bootstrap_expect)
    : self_(std::move(self)),
      datacenter_(std::move(datacenter)),
      bootstrap_expect_(bootstrap_expect) {
  known_[self_.id()] = self_;
}

void ClusterService::attach(RaftNode* node, std::string cluster_id,
                            std::vector<v1::ServerInfo> bootstrap) {
  {
    std::lock_guard lock(mu_);
    cluster_id_ = std::move(cluster_id);
    bootstrap_ = std::move(bootstrap);
  }
  node_.store(node, std::memory_order_release);
}

std::vector<std::string> ClusterService::addresses(
    const std::vector<std::string>& retry_join) const {
  std::vector<std::string> out;
  for (const auto& spec : retry_join) {
    auto resolved = resolveJoinAddress(spec, 8300);
    if (!resolved.isOk()) {
      LOG_WARN("cluster", resolved.status().message());
      continue;
    }
    for (auto& a : *resolved) {
      if (a != self_.address() && std::find(out.begin(), out.end(), a) == out.end()) {
        out.push_back(a);
      }
    }
  }
  return out;
}

std::vector<v1::HelloResponse> ClusterService::helloAll(
    transport::Transport& transport, const std::vector<std::string>& retry_join) {
  std::vector<std::future<StatusOr<v1::HelloResponse>>> pending;
  for (const auto& address : addresses(retry_join)) {
    v1::HelloRequest request;
    *request.mutable_self() = self_;
    request.set_datacenter(datacenter_);
    auto promise = std::make_shared<std::promise<StatusOr<v1::HelloResponse>>>();
    pending.push_back(promise->get_future());
    transport.hello(address, request, kCallDeadline,
                    [promise](StatusOr<v1::HelloResponse> r) { promise->set_value(std::move(r)); });
  }
  std::vector<v1::HelloResponse> answers;
  for (auto& f : pending) {
    auto r = f.get();
    if (r.isOk()) answers.push_back(std::move(*r));
  }
  return answers;
}

std::optional<ClusterPlan> ClusterService::planFrom(const std::vector<v1::HelloResponse>& answers) {
  std::lock_guard lock(mu_);
  for (const auto& a : answers) {
    if (a.datacenter() != datacenter_) {
      fatal_ = invalidArgument("server " + a.self().address() + " is in datacenter \"" +
                               a.datacenter() + "\", not \"" + datacenter_ + "\"");
      return std::nullopt;
    }
    known_[a.self().id()] = a.self();
    if (a.cluster_id().empty()) {
      for (const auto& k : a.known()) known_[k.id()] = k;
      continue;
    }
    ClusterPlan plan;  // a cluster exists: bootstrap alike if we are one of its first voters
    plan.cluster_id = a.cluster_id();
    for (const auto& k : a.known()) {
      plan.voters.push_back(k);
      if (k.id() == self_.id()) plan.bootstrap = true;
    }
    if (!plan.bootstrap) plan.voters.clear();
    return plan;
  }
  if (bootstrap_expect_ <= 0 || known_.size() < static_cast<size_t>(bootstrap_expect_)) {
    return std::nullopt;
  }
  ClusterPlan plan;
  for (const auto& [id, s] : known_) {
    if (plan.voters.size() < static_cast<size_t>(bootstrap_expect_)) plan.voters.push_back(s);
  }
  bool included = std::any_of(plan.voters.begin(), plan.voters.end(),
                              [&](const v1::ServerInfo& s) { return s.id() == self_.id(); });
  if (!included) return std::nullopt;  // more servers than expected: wait for the cluster, join
  plan.bootstrap = true;
  plan.cluster_id = clusterIdFor(plan.voters);
  return plan;
}

StatusOr<ClusterPlan> ClusterService::discover(transport::Transport& transport,
                                               const std::vector<std::string>& retry_join,
                                               const std::function<bool()>& stopped) {
  LOG_INFO("cluster", "discovering servers (bootstrap-expect " << bootstrap_expect_ << ")");
  while (!stopped()) {
    auto plan = planFrom(helloAll(transport, retry_join));
    {
      std::lock_guard lock(mu_);
      if (!fatal_.isOk()) return fatal_;
    }
    if (plan) return *plan;
    sleepUnless(stopped, kRetryInterval);
  }
  return unavailable("stopped before the cluster formed");
}

Status ClusterService::join(transport::Transport& transport,
                            const std::vector<std::string>& retry_join,
                            const std::string& cluster_id, const std::function<bool()>& stopped) {
  v1::JoinRequest request;
  *request.mutable_server() = self_;
  request.set_cluster_id(cluster_id);
  while (!stopped()) {
    std::vector<std::string> targets = addresses(retry_join);
    for (size_t i = 0; i < targets.size() && !stopped(); ++i) {
      std::promise<StatusOr<v1::MembershipResponse>> answered;
      transport.join(
          targets[i], request, std::chrono::milliseconds(5000),
          [&answered](StatusOr<v1::MembershipResponse> r) { answered.set_value(std::move(r)); });
      auto r = answered.get_future().get();
      if (!r.isOk()) continue;
      if (r->error_code() == 0) {
        if (RaftNode* node = node_.load(std::memory_order_acquire)) {
          node->learnServers({r->servers().begin(), r->servers().end()});
        }
        LOG_INFO("cluster", "joined the cluster through " << targets[i]);
        return Status::ok();
      }
      if (r->error_code() == static_cast<int>(StatusCode::kInvalidArgument)) {
        return Status(StatusCode::kInvalidArgument, r->error());
      }
      const std::string& leader = r->leader_address();
      if (!leader.empty() && std::find(targets.begin(), targets.end(), leader) == targets.end()) {
        targets.push_back(leader);
      }
    }
    sleepUnless(stopped, kRetryInterval);
  }
  return unavailable("stopped before joining the cluster");
}

std::vector<std::string> ClusterService::peerClusterIds(
    transport::Transport& transport, const std::vector<std::string>& retry_join) {
  std::vector<std::string> ids;
  for (const auto& a : helloAll(transport, retry_join)) {
    if (!a.cluster_id().empty()) ids.push_back(a.cluster_id());
  }
  return ids;
}

void ClusterService::onRaftMessages(std::vector<raft::Message> messages) {
  if (RaftNode* node = node_.load(std::memory_order_acquire))
    node->onRaftMessages(std::move(messages));
}

void ClusterService::onForward(v1::ForwardRequest request,
                               transport::Reply<v1::ForwardResponse> reply) {
  if (RaftNode* node = node_.load(std::memory_order_acquire)) {
    return node->onForward(std::move(request), std::move(reply));
  }
  reply(notInClusterYet<v1::ForwardResponse>());
}

void ClusterService::onHello(v1::HelloRequest request, transport::Reply<v1::HelloResponse> reply) {
  v1::HelloResponse r;
  *r.mutable_self() = self_;
  r.set_datacenter(datacenter_);
  r.set_bootstrap_expect(bootstrap_expect_);
  RaftNode* node = node_.load(std::memory_order_acquire);
  {
    std::lock_guard lock(mu_);
    if (request.self().id() != 0 && !request.self().address().empty() && !node) {
      known_[request.self().id()] = request.self();
    }
    if (node) {
      r.set_cluster_id(cluster_id_);
      for (const auto& s : bootstrap_) *r.add_known() = s;
    } else {
      for (const auto& [id, s] : known_) *r.add_known() = s;
    }
  }
  if (node) r.set_leader_address(node->leaderAddress());
  reply(std::move(r));
}

void ClusterService::onJoin(v1::JoinRequest request,
                            transport::Reply<v1::MembershipResponse> reply) {
  if (RaftNode* node = node_.load(std::memory_order_acquire)) {
    return node->onJoin(std::move(request), std::move(reply));
  }
  reply(notInClusterYet<v1::MembershipResponse>());
}

void ClusterService::onLeave(v1::LeaveRequest request,
                             transport::Reply<v1::MembershipResponse> reply) {
  if (RaftNode* node = node_.load(std::memory_order_acquire)) {
    return node->onLeave(std::move(request), std::move(reply));
  }
  reply(notInClusterYet<v1::MembershipResponse>());
}

}  // namespace cairn::node
