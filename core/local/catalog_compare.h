#pragma once
// The pure part of anti-entropy: what this agent's node, services and checks should look like in
// the catalog, and whether the catalog's rows already say that (indexes and the fields the store
// fills in itself are ignored). No state, no threads.

#include <map>
#include <string>

#include "cairn/v1/catalog.pb.h"
#include "cairn/v1/commands.pb.h"

namespace cairn::local {

// This agent's node as anti-entropy asserts it.
struct AgentIdentity {
  std::string node_name;
  std::string node_id;
  std::string datacenter;
  std::string address;                                  // advertise address
  std::map<std::string, std::string> tagged_addresses;  // lan, lan_ipv4, wan, wan_ipv4
  std::map<std::string, std::string> meta;
};

// Tagged addresses lan/lan_ipv4/wan/wan_ipv4 all set to `address` (what a single-address agent
// advertises).
std::map<std::string, std::string> defaultTaggedAddresses(const std::string& address);

v1::CatalogNode catalogNodeOf(const AgentIdentity& identity);
// The passing serfHealth check of `node`.
v1::CatalogCheck serfHealthCheck(const std::string& node);

bool sameNode(const v1::CatalogNode& want, const v1::CatalogNode& have);
// `want` is the local service; with EnableTagOverride the catalog's tags win, so tags are ignored.
bool sameService(const v1::CatalogService& want, const v1::CatalogService& have);
// With `ignore_output`, a differing Output alone does not count (an output-only change whose sync
// is deferred by check_update_interval).
bool sameCheck(const v1::CatalogCheck& want, const v1::CatalogCheck& have, bool ignore_output);

// Commands anti-entropy proposes. Service and check registrations carry the node with
// skip_node_update (the store creates the node if it is missing, but never rewrites it).
v1::Command registerNodeCommand(const AgentIdentity& identity);
v1::Command registerServiceCommand(const AgentIdentity& identity, const v1::CatalogService& service,
                                   const std::vector<v1::CatalogCheck>& checks);
v1::Command registerCheckCommand(const AgentIdentity& identity, const v1::CatalogCheck& check);
v1::Command deregisterServiceCommand(const std::string& node, const std::string& service_id);
v1::Command deregisterCheckCommand(const std::string& node, const std::string& check_id);

}  // namespace cairn::local
