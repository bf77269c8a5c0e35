#pragma once
// ClientRpcService: the server side of cairn.v1.ClientRpc (proto/cairn/v1/agent_rpc.proto), served
// on the server port next to the cluster service. Client agents forward their HTTP requests, DNS
// queries and anti-entropy here. Callback API: a forwarded blocking query holds no thread while
// it waits; the call finishes when the Router's Responder answers (from any thread).
//
// Untrusted input: an HTTP envelope goes through the same Router (and so the same validation) as
// a request on this server's HTTP port, with the route's body limit enforced here; catalog
// commands are accepted only as register/deregister of the node named in the request, never a
// server's node. With ACLs on, anti-entropy carries the client's token and is checked like the
// HTTP catalog routes (agent/client_rpc_acl.h); a denied call fails with PERMISSION_DENIED.
// Before attach() (start-up) every call fails with FAILED_PRECONDITION, which a
// client may retry anywhere: nothing was done.

#include <memory>
#include <mutex>

#include "cairn/v1/agent_rpc.grpc.pb.h"
#include "core/dns/dns_catalog.h"
#include "core/dns/dns_resolver.h"
#include "core/http/acl_resolver.h"
#include "core/http/router.h"
#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::agent {

class ClientRpcService final : public v1::ClientRpc::CallbackService {
 public:
  // Everything outlives the gRPC server this service is registered with.
  struct Deps {
    const http::Router* router = nullptr;
    node::Node* node = nullptr;
    const store::StateStore* store = nullptr;
    const dns::DnsCatalog* dns_catalog = nullptr;  // null: DNS refused
    dns::DnsConfig dns_config;                     // normalized
    const http::AclResolver* acl = nullptr;        // null: no ACL checks (tests)
  };

  ClientRpcService() = default;
  // Starts answering. Thread-safe; once.
  void attach(Deps deps);

  grpc::ServerUnaryReactor* Http(grpc::CallbackServerContext* context,
                                 const v1::HttpEnvelope* request, v1::HttpReply* reply) override;
  grpc::ServerUnaryReactor* Dns(grpc::CallbackServerContext* context, const v1::DnsQuery* request,
                                v1::DnsReply* reply) override;
  grpc::ServerUnaryReactor* CatalogPropose(grpc::CallbackServerContext* context,
                                           const v1::CatalogProposeRequest* request,
                                           v1::CatalogProposeReply* reply) override;
  grpc::ServerUnaryReactor* NodeCatalog(grpc::CallbackServerContext* context,
                                        const v1::NodeCatalogRequest* request,
                                        v1::NodeCatalogReply* reply) override;

 private:
  const Deps* deps() const;
  // The caller of `context` by its token (kTokenMetadata), or the gRPC status refusing it.
  StatusOr<http::AclCaller> callerOf(const grpc::CallbackServerContext& context,
                                     const Deps& deps) const;

  mutable std::mutex mu_;
  std::unique_ptr<Deps> deps_;  // set once by attach()
};

// Why `command` may not come from the client agent of `node` (empty: it may). Exposed for tests.
std::string refuseClientCommand(const std::string& node, const v1::Command& command,
                                const std::vector<std::string>& server_nodes);

}  // namespace cairn::agent
