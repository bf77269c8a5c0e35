#pragma once
// ACLs on a client agent's anti-entropy (ClientRpc.CatalogPropose and NodeCatalog), with the same
// authorizer as the HTTP routes (docs/security.md, "Client agents and sidecars"). The client sends
// its token as gRPC metadata `x-consul-token` (kTokenMetadata); the server resolves it with its
// AclResolver and asks what Consul's Catalog.Register / Catalog.Deregister ask:
//
//  - register: node:write on the node when the registration creates or updates the node (not for
//    a service registration that leaves the node alone, skip_node_update); service:write on the
//    service's name, and on the old name when the same service ID was registered under another;
//    a node-level check needs node:write, a service's check service:write on that service.
//  - deregister: node:write on the node allows any; else one service needs service:write on its
//    name, one check service:write on its service's name (node:write for a node-level check),
//    and the whole node is refused. Deregistering what the catalog does not hold is nothing to do.
//  - reading the node's catalog (NodeCatalog): node:read on the node.
//
// Pure functions of the command, the catalog rows already on the node and the authorizer, so
// that the tables are tested without a server (tests/unit/agent/client_rpc_acl_test.cc).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/commands.pb.h"
#include "core/acl/authorizer.h"
#include "core/http/acl_enforcer.h"

namespace cairn::agent {

// The metadata key a client agent puts its token under (gRPC keys are lower case).
inline constexpr char kTokenMetadata[] = "x-consul-token";

// What the catalog holds on the command's node, as far as the checks above need it.
struct NodeEntries {
  std::optional<v1::CatalogNode> node;                // absent: unknown node
  std::map<std::string, std::string> service_names;   // service ID -> service name
  std::map<std::string, std::string> check_services;  // check ID -> service name ("": node-level)
};

struct CommandVerdict {
  // The first permission the token lacks; nullopt: allowed.
  std::optional<http::Permission> missing;
  // A deregister of a service or check the node does not hold: answer ok without proposing.
  bool nothing_to_do = false;
};

// Whether `authz` may apply `command` (a catalog register or deregister refuseClientCommand()
// already accepted) given `existing`.
CommandVerdict authorizeClientCommand(const v1::Command& command, const NodeEntries& existing,
                                      const acl::Authorizer& authz);

}  // namespace cairn::agent
