#include "core/dns/dns_acl.h"

#include <algorithm>

namespace cairn::dns {
namespace {

using acl::Access;
using acl::Resource;

bool canReadNode(const acl::Authorizer& authz, std::string_view node) {
  return authz.allowed(Resource::kNode, node, Access::kRead);
}

// Drops the nodes the token may not read.
std::vector<DnsNode> readableNodes(const acl::Authorizer& authz, std::vector<DnsNode> nodes) {
  std::erase_if(nodes, [&](const DnsNode& n) { return !canReadNode(authz, n.name); });
  return nodes;
}

}  // namespace

std::optional<DnsNode> AclDnsCatalog::node(std::string_view name) const {
  // The stored name is checked, not the query's spelling: DNS names are case-insensitive,
  // ACL rules are not.
  std::optional<DnsNode> found = inner_.node(name);
  if (found && !canReadNode(*authorizer_(), found->name)) return std::nullopt;
  return found;
}

std::vector<DnsServiceInstance> AclDnsCatalog::serviceInstances(std::string_view service) const {
  auto authz = authorizer_();
  if (!authz->allowed(Resource::kService, service, Access::kRead)) return {};
  std::vector<DnsServiceInstance> instances = inner_.serviceInstances(service);
  std::erase_if(instances,
                [&](const DnsServiceInstance& i) { return !canReadNode(*authz, i.node.name); });
  return instances;
}

std::vector<DnsNode> AclDnsCatalog::servers() const {
  return readableNodes(*authorizer_(), inner_.servers());
}

std::vector<DnsNode> AclDnsCatalog::nodesWithAddress(std::string_view ip) const {
  return readableNodes(*authorizer_(), inner_.nodesWithAddress(ip));
}

std::vector<std::string> AclDnsCatalog::servicesWithAddress(std::string_view ip) const {
  auto authz = authorizer_();
  std::vector<std::string> names = inner_.servicesWithAddress(ip);
  std::erase_if(names, [&](const std::string& service) {
    return !authz->allowed(Resource::kService, service, Access::kRead);
  });
  return names;
}

std::optional<DnsQueryAnswer> AclDnsCatalog::preparedQuery(std::string_view id_or_name) const {
  std::optional<DnsQueryAnswer> answer = inner_.preparedQuery(id_or_name);
  if (!answer) return std::nullopt;
  auto authz = authorizer_();
  if (!authz->allowed(Resource::kService, answer->service, Access::kRead)) {
    answer->instances.clear();
  }
  std::erase_if(answer->instances,
                [&](const DnsServiceInstance& i) { return !canReadNode(*authz, i.node.name); });
  return answer;
}

}  // namespace cairn::dns
