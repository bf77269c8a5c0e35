#include "agent/store_dns_catalog.h"

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "core/base/duration.h"
#include "core/store/prepared_query.h"

namespace cairn::agent {
namespace {

dns::DnsNode dnsNode(const v1::CatalogNode& n) {
  return dns::DnsNode{n.node(), n.address(), {n.meta().begin(), n.meta().end()}};
}

// The worst status among the checks (no checks: passing).
dns::InstanceHealth worst(const std::vector<v1::CatalogCheck>& checks) {
  dns::InstanceHealth h = dns::InstanceHealth::kPassing;
  for (const auto& c : checks) {
    if (c.status() == "critical") return dns::InstanceHealth::kCritical;
    if (c.status() == "warning") h = dns::InstanceHealth::kWarning;
  }
  return h;
}

dns::DnsServiceInstance dnsInstance(const store::ServiceInstance& i) {
  dns::DnsServiceInstance d;
  d.node = dnsNode(i.node);
  d.service_address = i.service.address();
  d.port = i.service.port();
  d.tags.assign(i.service.tags().begin(), i.service.tags().end());
  d.weight_passing = i.service.weight_passing() == 0 ? 1 : i.service.weight_passing();
  d.weight_warning = i.service.weight_warning() == 0 ? 1 : i.service.weight_warning();
  d.health = worst(i.checks);
  return d;
}

}  // namespace

StoreDnsCatalog::StoreDnsCatalog(const store::StateStore& store,
                                 std::function<std::vector<std::string>()> server_nodes,
                                 std::string agent_node)
    : store_(store), server_nodes_(std::move(server_nodes)), agent_node_(std::move(agent_node)) {}

std::optional<dns::DnsNode> StoreDnsCatalog::node(std::string_view name) const {
  store::NodeServices r = store_.nodeServices(name);
  if (!r.node) return std::nullopt;
  return dnsNode(*r.node);
}

std::vector<dns::DnsServiceInstance> StoreDnsCatalog::serviceInstances(
    std::string_view service) const {
  std::vector<dns::DnsServiceInstance> out;
  for (const store::ServiceInstance& i : store_.serviceInstances(service, true).instances) {
    out.push_back(dnsInstance(i));
  }
  return out;
}

std::vector<dns::DnsNode> StoreDnsCatalog::servers() const {
  std::vector<dns::DnsNode> out;
  for (const std::string& name : server_nodes_()) {
    if (auto n = node(name)) out.push_back(std::move(*n));
  }
  return out;
}

std::vector<dns::DnsNode> StoreDnsCatalog::nodesWithAddress(std::string_view ip) const {
  std::vector<dns::DnsNode> out;
  for (const v1::CatalogNode& n : store_.catalogNodes().nodes) {
    if (n.address() == ip) out.push_back(dnsNode(n));
  }
  return out;
}

std::vector<std::string> StoreDnsCatalog::servicesWithAddress(std::string_view ip) const {
  std::vector<std::string> out;
  for (const store::NodeEntry& e : store_.allNodes()) {
    for (const auto& s : e.services) {
      if (s.address() == ip) out.push_back(s.service());
    }
  }
  return out;
}

// Runs the query as HTTP execute does (no ACL filtering here: DNS answers are not filtered by
// token yet). A template that fails to render answers like an unknown name.
std::optional<dns::DnsQueryAnswer> StoreDnsCatalog::preparedQuery(
    std::string_view id_or_name) const {
  auto run = store::executePreparedQuery(store_, id_or_name, "", agent_node_);
  if (!run.isOk()) return std::nullopt;
  dns::DnsQueryAnswer out;
  out.service = run->query.service().service();
  if (const std::string& text = run->query.dns_ttl(); !text.empty()) {
    if (auto ttl = parseGoDuration(text); ttl.isOk()) {
      int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(*ttl).count();
      out.ttl = static_cast<uint32_t>(std::clamp<int64_t>(seconds, 0, INT32_MAX));
    }
  }
  for (const store::ServiceInstance& i : run->instances) out.instances.push_back(dnsInstance(i));
  out.near_node = std::move(run->near_node);
  return out;
}

}  // namespace cairn::agent
