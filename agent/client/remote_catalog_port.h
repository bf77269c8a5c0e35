#pragma once
// RemoteCatalogPort: a client agent's CatalogPort (core/local/catalog_port.h) over gRPC to its
// current server (ClientRpc.CatalogPropose / NodeCatalog). Anti-entropy retries failed calls
// itself, and its commands are idempotent (registering the same data again changes nothing), so
// a call that fails is reported and never repeated here. A transport failure moves the
// connection to another server. Every call carries the agent's token (metadata
// x-consul-token) when it has one: with ACLs on, the server checks it (agent/client_rpc_acl.h).

#include "agent/client/server_connection.h"
#include "core/local/catalog_port.h"

namespace cairn::agent::client {

class RemoteCatalogPort final : public local::CatalogPort {
 public:
  // `connection` outlives the port and its calls; `node_name` is this client's node; `token` the
  // ACL secret the calls carry ("": none).
  RemoteCatalogPort(ServerConnection& connection, std::string node_name, std::string token = "")
      : connection_(connection), node_name_(std::move(node_name)), token_(std::move(token)) {}

  void propose(v1::Command command, std::function<void(Status)> done) override;
  void readNode(const std::string& node_name,
                std::function<void(StatusOr<local::NodeCatalog>)> done) override;

 private:
  ServerConnection& connection_;
  const std::string node_name_;
  const std::string token_;
};

}  // namespace cairn::agent::client
