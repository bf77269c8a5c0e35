#include "agent/client_rpc_service.h"

#include <random>
#include <span>

#include "agent/client_rpc_acl.h"
#include "core/base/logging.h"
#include "core/base/random.h"
#include "core/http/body_stream.h"

namespace cairn::agent {
namespace {

// One incoming unary call. The Slot outlives the reactor so that a late answer (a blocking query
// whose caller went away) is dropped instead of touching a finished call.
template <typename Resp>
class Call final : public grpc::ServerUnaryReactor {
 public:
  struct Slot {
    std::mutex mu;
    Call* call = nullptr;      // null once gRPC is done with the call
    Resp* response = nullptr;  // owned by gRPC, valid while call is set
    bool finished = false;
    void finish(const grpc::Status& status, Resp* answer) {
      std::lock_guard lock(mu);
      if (finished || call == nullptr) return;
      finished = true;
      if (answer != nullptr) *response = std::move(*answer);
      call->Finish(status);
    }
  };

  explicit Call(Resp* response) : slot_(std::make_shared<Slot>()) {
    slot_->call = this;
    slot_->response = response;
  }
  std::shared_ptr<Slot> slot() const { return slot_; }
  void OnCancel() override { slot_->finish(grpc::Status::CANCELLED, nullptr); }
  void OnDone() override {
    {
      std::lock_guard lock(slot_->mu);
      slot_->call = nullptr;
    }
    delete this;
  }

 private:
  std::shared_ptr<Slot> slot_;
};

const grpc::Status kNotReady(grpc::StatusCode::FAILED_PRECONDITION,
                             "server starting: client RPC not ready");

bool sameName(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::shared_ptr<http::HttpRequest> requestOf(const v1::HttpEnvelope& e) {
  auto req = std::make_shared<http::HttpRequest>();
  req->method = e.method();
  req->path = e.path();
  req->raw_query = e.raw_query();
  req->query = http::QueryParams::parse(e.raw_query());
  for (const auto& h : e.headers()) req->headers[h.name()] = h.value();
  req->body = e.body();
  req->agent_node = e.agent_node();
  return req;
}

// The catalog rows on `node` that authorizeClientCommand() looks at.
NodeEntries entriesOf(const store::StateStore& store, const std::string& node) {
  NodeEntries out;
  store::NodeServices services = store.nodeServices(node);
  out.node = std::move(services.node);
  for (const auto& s : services.services) out.service_names[s.id()] = s.service();
  for (const auto& c : store.nodeChecks(node).checks) {
    out.check_services[c.check_id()] = c.service_id().empty() ? "" : c.service_name();
  }
  return out;
}

grpc::Status denied(const std::string& message) {
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, message);
}

v1::HttpReply replyOf(http::HttpResponse r) {
  // A streamed answer (GET /v1/agent/monitor) cannot cross a unary call: its producer is told
  // at once (a monitor's log sink goes away) and the reply has no body.
  if (r.stream) r.stream->close();
  v1::HttpReply out;
  out.set_status(r.status);
  out.set_content_type(std::move(r.content_type));
  for (auto& [name, value] : r.headers) {
    auto* h = out.add_headers();
    h->set_name(std::move(name));
    h->set_value(std::move(value));
  }
  out.set_body(std::move(r.body));
  return out;
}

}  // namespace

std::string refuseClientCommand(const std::string& node, const v1::Command& command,
                                const std::vector<std::string>& server_nodes) {
  if (node.empty()) return "missing node name";
  for (const auto& s : server_nodes) {
    if (sameName(s, node)) return "node " + node + " is a server: a client agent may not write it";
  }
  if (command.has_catalog_register()) {
    const auto& r = command.catalog_register();
    if (!sameName(r.node().node(), node)) return "register names another node";
    for (const auto& c : r.checks()) {
      if (!c.node().empty() && !sameName(c.node(), node)) return "check names another node";
    }
    return "";
  }
  if (command.has_catalog_deregister()) {
    if (!sameName(command.catalog_deregister().node(), node))
      return "deregister names another node";
    return "";
  }
  return "only catalog register and deregister commands are accepted from client agents";
}

void ClientRpcService::attach(Deps deps) {
  std::lock_guard lock(mu_);
  deps_ = std::make_unique<Deps>(std::move(deps));
}

const ClientRpcService::Deps* ClientRpcService::deps() const {
  std::lock_guard lock(mu_);
  return deps_.get();
}

StatusOr<http::AclCaller> ClientRpcService::callerOf(const grpc::CallbackServerContext& context,
                                                     const Deps& d) const {
  if (d.acl == nullptr) return http::AclCaller{acl::Authorizer::management(), "", false};
  std::string token;
  const auto& metadata = context.client_metadata();
  if (auto it = metadata.find(kTokenMetadata); it != metadata.end()) {
    token.assign(it->second.data(), it->second.size());
  }
  return d.acl->resolve(token);  // the secret never goes into the error
}

grpc::ServerUnaryReactor* ClientRpcService::Http(grpc::CallbackServerContext*,
                                                 const v1::HttpEnvelope* request,
                                                 v1::HttpReply* reply) {
  auto* call = new Call<v1::HttpReply>(reply);
  auto slot = call->slot();
  const Deps* d = deps();
  if (d == nullptr) {
    slot->finish(kNotReady, nullptr);
    return call;
  }
  std::shared_ptr<http::HttpRequest> req = requestOf(*request);
  const http::Route* route = d->router->match(req->path);
  req->route = route ? route->pattern : "unmatched";
  http::Responder respond([slot](http::HttpResponse r) {
    v1::HttpReply out = replyOf(std::move(r));
    slot->finish(grpc::Status::OK, &out);
  });
  if (route != nullptr && req->body.size() > route->max_body) {
    respond(http::textResponse(413, "Request body too large"));
    return call;
  }
  try {
    d->router->dispatch(route, std::move(req), respond);
  } catch (const std::exception& e) {
    LOG_ERROR("client-rpc", "handler threw: " << e.what());
    respond(http::textResponse(500, "Internal error"));
  }
  return call;
}

grpc::ServerUnaryReactor* ClientRpcService::Dns(grpc::CallbackServerContext*,
                                                const v1::DnsQuery* request, v1::DnsReply* reply) {
  auto* call = new Call<v1::DnsReply>(reply);
  const Deps* d = deps();
  if (d == nullptr || d->dns_catalog == nullptr) {
    call->slot()->finish(kNotReady, nullptr);
    return call;
  }
  SeededRandom random(std::random_device{}());
  dns::ResolveContext ctx{d->dns_config, *d->dns_catalog, random,
                          static_cast<uint32_t>(std::time(nullptr))};
  const std::string& packet = request->packet();
  auto answer =
      dns::resolveQuery(std::span(reinterpret_cast<const uint8_t*>(packet.data()), packet.size()),
                        request->tcp() ? dns::Transport::kTcp : dns::Transport::kUdp, ctx);
  v1::DnsReply out;
  if (answer) out.set_packet(std::string(answer->begin(), answer->end()));
  call->slot()->finish(grpc::Status::OK, &out);
  return call;
}

grpc::ServerUnaryReactor* ClientRpcService::CatalogPropose(grpc::CallbackServerContext* context,
                                                           const v1::CatalogProposeRequest* request,
                                                           v1::CatalogProposeReply* reply) {
  auto* call = new Call<v1::CatalogProposeReply>(reply);
  auto slot = call->slot();
  const Deps* d = deps();
  if (d == nullptr) {
    slot->finish(kNotReady, nullptr);
    return call;
  }
  std::vector<std::string> servers;
  for (const auto& s : d->node->raftConfiguration().servers) servers.push_back(s.node);
  if (std::string why = refuseClientCommand(request->node(), request->command(), servers);
      !why.empty()) {
    slot->finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, why), nullptr);
    return call;
  }
  auto caller = callerOf(*context, *d);
  if (!caller.isOk()) {
    slot->finish(denied(caller.status().message()), nullptr);
    return call;
  }
  CommandVerdict verdict = authorizeClientCommand(
      request->command(), entriesOf(*d->store, request->node()), *caller->authz);
  if (verdict.missing) {
    std::string why = http::permissionDenied(*caller, *verdict.missing);
    LOG_WARN("client-rpc", "anti-entropy of node " << request->node() << " refused: " << why);
    slot->finish(denied(why), nullptr);
    return call;
  }
  if (verdict.nothing_to_do) {
    v1::CatalogProposeReply out;
    out.set_ok(true);
    slot->finish(grpc::Status::OK, &out);
    return call;
  }
  d->node->propose(request->command(), [slot](StatusOr<node::ProposeResult> result) {
    v1::CatalogProposeReply out;
    out.set_ok(result.isOk() && result->outcome.ok);
    if (!result.isOk()) {
      out.set_error(result.status().message());
    } else if (!result->outcome.ok) {
      out.set_error(result->outcome.errors.empty() ? "refused" : result->outcome.errors[0].what);
    }
    slot->finish(grpc::Status::OK, &out);
  });
  return call;
}

grpc::ServerUnaryReactor* ClientRpcService::NodeCatalog(grpc::CallbackServerContext* context,
                                                        const v1::NodeCatalogRequest* request,
                                                        v1::NodeCatalogReply* reply) {
  auto* call = new Call<v1::NodeCatalogReply>(reply);
  const Deps* d = deps();
  if (d == nullptr) {
    call->slot()->finish(kNotReady, nullptr);
    return call;
  }
  auto caller = callerOf(*context, *d);
  if (!caller.isOk()) {
    call->slot()->finish(denied(caller.status().message()), nullptr);
    return call;
  }
  http::Permission read{acl::Resource::kNode, request->node(), acl::Access::kRead, false};
  if (!caller->authz->allowed(read.resource, read.name, read.access)) {
    call->slot()->finish(denied(http::permissionDenied(*caller, read)), nullptr);
    return call;
  }
  store::NodeServices services = d->store->nodeServices(request->node());
  v1::NodeCatalogReply out;
  out.set_known(services.node.has_value());
  if (services.node) *out.mutable_node() = *services.node;
  for (auto& s : services.services) *out.add_services() = std::move(s);
  for (auto& c : d->store->nodeChecks(request->node()).checks) *out.add_checks() = std::move(c);
  call->slot()->finish(grpc::Status::OK, &out);
  return call;
}

}  // namespace cairn::agent
