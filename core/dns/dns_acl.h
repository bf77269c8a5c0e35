#pragma once
// AclDnsCatalog: the DNS view a token may see (docs/security.md, "DNS"). DNS queries carry no
// token, so, as in Consul, an agent answers them with a token of its own; this decorator hides
// what that token cannot read:
//
//  - a node lookup (`<node>.node.consul`, PTR) needs node:read on the node;
//  - a service lookup needs service:read on the service, and each instance node:read on its
//    node; when nothing is left the resolver answers NXDOMAIN, as for an unknown service;
//  - NS records name only servers whose node the token may read;
//  - a prepared query (`<name>.query.consul`) answers as a lookup of its service would.
//
// The authorizer is asked for on every call, so a deleted token or a changed policy applies to
// the next query (the agent resolves the token against its replica of the ACL tables).
//
// Threading: thread-safe when `inner` and `authorizer` are.

#include <functional>
#include <memory>

#include "core/acl/authorizer.h"
#include "core/dns/dns_catalog.h"

namespace cairn::dns {

class AclDnsCatalog final : public DnsCatalog {
 public:
  // Returns what the DNS token may do now; never null.
  using AuthorizerFn = std::function<std::shared_ptr<const acl::Authorizer>()>;

  // `inner` outlives this catalog.
  AclDnsCatalog(const DnsCatalog& inner, AuthorizerFn authorizer)
      : inner_(inner), authorizer_(std::move(authorizer)) {}

  std::optional<DnsNode> node(std::string_view name) const override;
  std::vector<DnsServiceInstance> serviceInstances(std::string_view service) const override;
  std::vector<DnsNode> servers() const override;
  std::vector<DnsNode> nodesWithAddress(std::string_view ip) const override;
  std::vector<std::string> servicesWithAddress(std::string_view ip) const override;
  // A prepared query's answer is filtered as a service lookup of the service it ran against.
  std::optional<DnsQueryAnswer> preparedQuery(std::string_view id_or_name) const override;

 private:
  const DnsCatalog& inner_;
  AuthorizerFn authorizer_;
};

}  // namespace cairn::dns
