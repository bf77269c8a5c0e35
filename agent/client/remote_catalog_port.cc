#include "agent/client/remote_catalog_port.h"

#include <chrono>

namespace cairn::agent::client {
namespace {

// Anti-entropy calls are short: a server that does not answer in time is treated as failed.
constexpr auto kCallTimeout = std::chrono::seconds(10);

template <typename Req, typename Resp>
struct Call {
  grpc::ClientContext context;
  Req request;
  Resp reply;
};

bool transportFailure(const grpc::Status& s) {
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::FAILED_PRECONDITION ||
         s.error_code() == grpc::StatusCode::CANCELLED;
}

}  // namespace

void RemoteCatalogPort::propose(v1::Command command, std::function<void(Status)> done) {
  auto target = connection_.target();
  if (!target) return done(unavailable("no server known"));
  auto call = std::make_shared<Call<v1::CatalogProposeRequest, v1::CatalogProposeReply>>();
  call->context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  call->request.set_node(node_name_);
  *call->request.mutable_command() = std::move(command);
  auto* raw = call.get();
  target->stub->async()->CatalogPropose(
      &raw->context, &raw->request, &raw->reply,
      [this, call, target = ServerConnection::failureOf(*target),
       done = std::move(done)](grpc::Status s) {
        if (!s.ok()) {
          if (transportFailure(s)) connection_.reportFailure(target);
          return done(unavailable("server " + target.address + ": " + s.error_message()));
        }
        if (!call->reply.ok()) return done(invalidArgument(call->reply.error()));
        done(Status::ok());
      });
}

void RemoteCatalogPort::readNode(const std::string& node_name,
                                 std::function<void(StatusOr<local::NodeCatalog>)> done) {
  auto target = connection_.target();
  if (!target) return done(unavailable("no server known"));
  auto call = std::make_shared<Call<v1::NodeCatalogRequest, v1::NodeCatalogReply>>();
  call->context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  call->request.set_node(node_name);
  auto* raw = call.get();
  target->stub->async()->NodeCatalog(
      &raw->context, &raw->request, &raw->reply,
      [this, call, target = ServerConnection::failureOf(*target),
       done = std::move(done)](grpc::Status s) {
        if (!s.ok()) {
          if (transportFailure(s)) connection_.reportFailure(target);
          return done(unavailable("server " + target.address + ": " + s.error_message()));
        }
        local::NodeCatalog rows;
        if (call->reply.known()) rows.node = call->reply.node();
        rows.services.assign(call->reply.services().begin(), call->reply.services().end());
        rows.checks.assign(call->reply.checks().begin(), call->reply.checks().end());
        done(std::move(rows));
      });
}

}  // namespace cairn::agent::client
