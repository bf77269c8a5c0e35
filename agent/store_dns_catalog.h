#pragma once
// StoreDnsCatalog: the DNS resolver's view (dns::DnsCatalog) of the replicated catalog in the
// local state store. DNS answers are stale reads (Consul's allow_stale default): every call reads
// one local snapshot, whatever the leader. Thread-safe.

#include <functional>
#include <string>
#include <vector>

#include "core/dns/dns_catalog.h"
#include "core/store/state_store.h"

namespace cairn::agent {

class StoreDnsCatalog final : public dns::DnsCatalog {
 public:
  // `server_nodes` lists the node names of the Raft servers (for NS/SOA). Both outlive this.
  // `agent_node` is this agent's node name (a prepared query's Near "_agent").
  StoreDnsCatalog(const store::StateStore& store,
                  std::function<std::vector<std::string>()> server_nodes,
                  std::string agent_node = "");

  std::optional<dns::DnsNode> node(std::string_view name) const override;
  std::vector<dns::DnsServiceInstance> serviceInstances(std::string_view service) const override;
  std::vector<dns::DnsNode> servers() const override;
  std::vector<dns::DnsNode> nodesWithAddress(std::string_view ip) const override;
  std::vector<std::string> servicesWithAddress(std::string_view ip) const override;
  std::optional<dns::DnsQueryAnswer> preparedQuery(std::string_view id_or_name) const override;

 private:
  const store::StateStore& store_;
  std::function<std::vector<std::string>()> server_nodes_;
  std::string agent_node_;
};

}  // namespace cairn::agent
