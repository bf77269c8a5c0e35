#pragma once
// DnsCatalog: the read-only view of the catalog the DNS resolver answers from. The agent
// implements it over the replicated state store; tests use an in-memory fake.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::dns {

struct DnsNode {
  std::string name;
  std::string address;  // IP literal or hostname
  std::map<std::string, std::string> meta;
};

enum class InstanceHealth { kPassing, kWarning, kCritical };

struct DnsServiceInstance {
  DnsNode node;
  std::string service_address;  // empty: use node.address
  int port = 0;
  std::vector<std::string> tags;
  int weight_passing = 1, weight_warning = 1;
  InstanceHealth health = InstanceHealth::kPassing;  // worst of node + service checks
                                                     // (maintenance = critical)
};

// What a prepared query (`<name>.query.<domain>`) answers with.
struct DnsQueryAnswer {
  std::string service;                        // the service it ran against
  std::optional<uint32_t> ttl;                // the query's DNS TTL (seconds), when it sets one
  std::vector<DnsServiceInstance> instances;  // the instances the query accepted, any order
  std::string near_node;                      // the node to answer first ("": none)
};

// Thread-safe; each call is one consistent read. Names compare ASCII case-insensitively.
class DnsCatalog {
 public:
  virtual ~DnsCatalog() = default;
  virtual std::optional<DnsNode> node(std::string_view name) const = 0;
  // Every instance of the service, in all health states.
  virtual std::vector<DnsServiceInstance> serviceInstances(std::string_view service) const = 0;
  // The servers of the local datacenter, for NS/SOA at the apex.
  virtual std::vector<DnsNode> servers() const = 0;
  // Nodes whose address is `ip` (canonical text form, as inet_ntop writes it), for PTR.
  virtual std::vector<DnsNode> nodesWithAddress(std::string_view ip) const = 0;
  // Added to the agreed shape: names of services with an instance whose service address is
  // `ip` (canonical text), for PTR queries that match no node. Default: none.
  virtual std::vector<std::string> servicesWithAddress(std::string_view /*ip*/) const { return {}; }
  // Added: runs the prepared query found by ID, name or template prefix; nullopt when none
  // matches. Default: no prepared queries.
  virtual std::optional<DnsQueryAnswer> preparedQuery(std::string_view /*id_or_name*/) const {
    return std::nullopt;
  }
};

}  // namespace cairn::dns
