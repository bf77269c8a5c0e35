#include "agent/store_dns_catalog.h"

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

}  // namespace

StoreDnsCatalog::StoreDnsCatalog(const store::StateStore& store,
                                 std::function<std::vector<std::string>()> server_nodes)
    : store_(store), server_nodes_(std::move(server_nodes)) {}

std::optional<dns::DnsNode> StoreDnsCatalog::node(std::string_view name) const {
  store::NodeServices r = store_.nodeServices(name);
  if (!r.node) return std::nullopt;
  return dnsNode(*r.node);
}

std::vector<dns::DnsServiceInstance> StoreDnsCatalog::serviceInstances(
    std::string_view service) const {
  std::vector<dns::DnsServiceInstance> out;
  for (const store::ServiceInstance& i : store_.serviceInstances(service, true).instances) {
    dns::DnsServiceInstance d;
    d.node = dnsNode(i.node);
    d.service_address = i.service.address();
    d.port = i.service.port();
    d.tags.assign(i.service.tags().begin(), i.service.tags().end());
    d.weight_passing = i.service.weight_passing() == 0 ? 1 : i.service.weight_passing();
    d.weight_warning = i.service.weight_warning() == 0 ? 1 : i.service.weight_warning();
    d.health = worst(i.checks);
    out.push_back(std::move(d));
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

}  // namespace cairn::agent
