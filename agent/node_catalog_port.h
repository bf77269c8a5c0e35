#pragma once
// The server side of the local agent's two ports: NodeCatalogPort (core/local/catalog_port.h)
// proposes through this server's Node and reads its state store replica; RaftMembers
// (core/http/agent_context.h) lists the Raft servers for /v1/agent/members.

#include "core/http/agent_context.h"
#include "core/local/catalog_port.h"
#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::agent {

// Both must outlive the port. Thread-safe (Node and StateStore are).
class NodeCatalogPort final : public local::CatalogPort {
 public:
  NodeCatalogPort(node::Node& node, const store::StateStore& store) : node_(node), store_(store) {}
  // A command the state machine refused fails with its first error's text.
  void propose(v1::Command command, std::function<void(Status)> done) override;
  // Reads the local replica at once (stale).
  void readNode(const std::string& node_name,
                std::function<void(StatusOr<local::NodeCatalog>)> done) override;

 private:
  node::Node& node_;
  const store::StateStore& store_;
};

// This server and the other Raft servers, with their status from the local catalog replica, so
// that every server gives the same answer: failed once the leader turned its serfHealth check
// critical (agent/server_health_monitor.cc, ~10 s after it last heard from it), alive otherwise.
// This agent is always alive to itself.
class RaftMembers final : public http::MembersSource {
 public:
  RaftMembers(const node::Node& node, const store::StateStore& store, http::AgentInfo self)
      : node_(node), store_(store), self_(std::move(self)) {}
  std::vector<http::AgentMember> members() const override;

 private:
  http::AgentMember member(const node::RaftServer& s) const;
  const node::Node& node_;
  const store::StateStore& store_;
  const http::AgentInfo self_;
};

}  // namespace cairn::agent
