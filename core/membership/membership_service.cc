#include "core/membership/membership_service.h"

#include <grpcpp/grpcpp.h>

#include "core/base/logging.h"
#include "core/membership/unary_call.h"

namespace cairn::membership {
namespace {

grpc::Status toGrpc(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kInvalidArgument:
      return {grpc::StatusCode::INVALID_ARGUMENT, s.message()};
    case StatusCode::kNotFound:
      return {grpc::StatusCode::NOT_FOUND, s.message()};
    default:
      return {grpc::StatusCode::UNAVAILABLE, s.message()};
  }
}

}  // namespace

void MembershipService::attach(node::Node* node, MembershipMonitor* monitor,
                               std::shared_ptr<tls::RpcTls> tls) {
  {
    std::lock_guard lock(mu_);
    tls_ = std::move(tls);
  }
  monitor_.store(monitor);
  node_.store(node);
}

void MembershipService::fillServers(v1::HeartbeatResponse& response) const {
  node::LeaderStatus leader = node_.load()->leaderStatus();
  for (const node::RaftServer& s : node_.load()->raftConfiguration().servers) {
    v1::ServerEndpoint* e = response.add_servers();
    e->set_name(s.node);
    e->set_node_id(s.id);
    e->set_rpc_address(s.address);
    if (s.address == leader.leader_address) e->set_http_address(leader.leader_http_address);
  }
  response.set_leader_rpc_address(leader.leader_address);
}

std::shared_ptr<v1::Membership::Stub> MembershipService::leaderStub() {
  if (node_.load()->isLeader()) return nullptr;
  std::string address = node_.load()->leaderStatus().leader_address;
  if (address.empty()) return nullptr;
  std::lock_guard lock(mu_);
  auto& stub = stubs_[address];
  if (!stub) {
    stub =
        v1::Membership::NewStub(tls::createChannel(tls_.get(), address, grpc::ChannelArguments()));
  }
  return stub;
}

void MembershipService::relayHeartbeat(const v1::HeartbeatRequest& request) {
  auto stub = leaderStub();
  if (!stub) return;  // no leader known: the client's next heartbeat tries again
  auto relay = std::make_shared<UnaryCall<v1::HeartbeatRequest, v1::HeartbeatResponse>>();
  relay->stub = stub;
  relay->request = request;
  relay->request.set_relayed(true);
  relay->context.set_deadline(deadlineIn(options_.relay_timeout));
  stub->async()->Heartbeat(
      &relay->context, &relay->request, &relay->response, [relay](grpc::Status s) {
        if (!s.ok()) {
          LOG_DEBUG("membership", "heartbeat relay to the leader failed: " << s.error_message());
        }
      });
}

grpc::ServerUnaryReactor* MembershipService::Heartbeat(grpc::CallbackServerContext* context,
                                                       const v1::HeartbeatRequest* request,
                                                       v1::HeartbeatResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (node_.load() == nullptr) {
    reactor->Finish({grpc::StatusCode::UNAVAILABLE, "server starting"});
    return reactor;
  }
  if (request->member().node_name().empty()) {
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "heartbeat without a node name"});
    return reactor;
  }
  Status s = monitor_.load()->heartbeat(request->member(), request->incarnation());
  if (s.code() == StatusCode::kUnavailable) {
    if (request->relayed()) {  // we were thought to lead, and do not
      reactor->Finish(toGrpc(s));
      return reactor;
    }
    relayHeartbeat(*request);
  } else if (!s.isOk()) {
    reactor->Finish(toGrpc(s));
    return reactor;
  }
  fillServers(*response);
  response->set_client_timeout_ms(static_cast<uint32_t>(monitor_.load()->clientTimeout().count()));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* MembershipService::Leave(grpc::CallbackServerContext* context,
                                                   const v1::MemberLeaveRequest* request,
                                                   v1::MemberLeaveResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (node_.load() == nullptr) {
    reactor->Finish({grpc::StatusCode::UNAVAILABLE, "server starting"});
    return reactor;
  }
  if (request->node_name().empty()) {
    reactor->Finish({grpc::StatusCode::INVALID_ARGUMENT, "leave without a node name"});
    return reactor;
  }
  if (node_.load()->isLeader() || request->relayed()) {
    monitor_.load()->leave(request->node_name(), request->incarnation(),
                           [reactor](Status s) { reactor->Finish(toGrpc(s)); });
    return reactor;
  }
  auto stub = leaderStub();
  if (!stub) {
    reactor->Finish({grpc::StatusCode::UNAVAILABLE, "No cluster leader"});
    return reactor;
  }
  auto relay = std::make_shared<UnaryCall<v1::MemberLeaveRequest, v1::MemberLeaveResponse>>();
  relay->stub = stub;
  relay->request = *request;
  relay->request.set_relayed(true);
  relay->context.set_deadline(deadlineIn(options_.leave_relay_timeout));
  stub->async()->Leave(&relay->context, &relay->request, &relay->response,
                       [relay, reactor](grpc::Status s) { reactor->Finish(s); });
  return reactor;
}

}  // namespace cairn::membership
