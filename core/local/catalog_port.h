#pragma once
// CatalogPort: everything LocalAgent needs from the replicated catalog, and nothing more. A
// server fills it in-process (agent/node_catalog_port.h: Node::propose and the local state
// store); a client agent fills it over gRPC to a server (agent/client/remote_catalog_port.h).
// Both calls are asynchronous so that a remote adapter never holds the caller's thread.
//
// Threading: implementations are thread-safe; `done` runs exactly once, on any thread (possibly
// the caller's, before the call returns), and must not block.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "cairn/v1/commands.pb.h"
#include "core/base/status.h"

namespace cairn::local {

// A refusal by the servers' ACLs: the token lacks a permission ("Permission denied: ...", Consul's
// text) or does not resolve ("ACL not found"). A kInvalidArgument carrying that text, as Consul's
// agent recognises it by its text across the RPC (acl.IsErrPermissionDenied); retrying does not
// help until the token changes.
inline constexpr char kPermissionDeniedText[] = "Permission denied";
inline bool isAclRefusal(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument &&
         (s.message().find(kPermissionDeniedText) != std::string::npos ||
          s.message().find("ACL not found") != std::string::npos);
}

// This node's rows in the catalog.
struct NodeCatalog {
  std::optional<v1::CatalogNode> node;  // absent: the node is not registered
  std::vector<v1::CatalogService> services;
  std::vector<v1::CatalogCheck> checks;
};

class CatalogPort {
 public:
  virtual ~CatalogPort() = default;
  // Replicates one catalog_register or catalog_deregister command for this agent's node. `done`
  // gets ok once it is applied, or an error (the command failed, no leader, server unreachable):
  // anti-entropy retries later, which is safe because re-registering the same data is a no-op.
  virtual void propose(v1::Command command, std::function<void(Status)> done) = 0;
  // This node's catalog rows (a stale read is fine: anti-entropy only compares).
  virtual void readNode(const std::string& node_name,
                        std::function<void(StatusOr<NodeCatalog>)> done) = 0;
};

}  // namespace cairn::local
