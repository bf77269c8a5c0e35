#pragma once
// MembershipService: the servers' gRPC service cairn.v1.Membership (membership.proto), served on
// the server port through GrpcTransportOptions::extra_services. The leader hands heartbeats and
// leaves to its MembershipMonitor. A follower answers a heartbeat at once (with the server list,
// which is all the client needs from it) and relays it to the leader in the background; it
// relays a leave and answers with the leader's answer. Relayed calls are never relayed again, so
// a stale idea of who leads costs one failed relay, not a loop.
//
// The service is served from the moment the transport starts, before Raft runs (a server may
// wait for discovery first): until attach() every call answers UNAVAILABLE "server starting".
//
// Threading: the gRPC callback threads run every method; nothing blocks on them (relays are
// asynchronous calls). Relay channels are created on first use per leader address and kept.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "cairn/v1/membership.grpc.pb.h"
#include "core/membership/membership_monitor.h"
#include "core/node/node.h"
#include "core/tls/rpc_tls.h"

namespace cairn::membership {

class MembershipService final : public v1::Membership::CallbackService {
 public:
  struct Options {
    std::chrono::milliseconds relay_timeout{2000};
    std::chrono::milliseconds leave_relay_timeout{5000};
  };
  explicit MembershipService(Options options) : options_(options) {}
  MembershipService() : MembershipService(Options{}) {}

  // Starts answering. Both outlive the service (the transport stops serving it first). Once.
  // `tls`: the credentials of relays to the leader (null: plain gRPC).
  void attach(node::Node* node, MembershipMonitor* monitor,
              std::shared_ptr<tls::RpcTls> tls = nullptr);

  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* context,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* Leave(grpc::CallbackServerContext* context,
                                  const v1::MemberLeaveRequest* request,
                                  v1::MemberLeaveResponse* response) override;

 private:
  void fillServers(v1::HeartbeatResponse& response) const;
  // The stub for the leader, or null when no leader is known (or this server leads).
  std::shared_ptr<v1::Membership::Stub> leaderStub();
  void relayHeartbeat(const v1::HeartbeatRequest& request);

  Options options_;
  std::atomic<node::Node*> node_{nullptr};
  std::shared_ptr<tls::RpcTls> tls_;  // guarded by mu_
  std::atomic<MembershipMonitor*> monitor_{nullptr};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<v1::Membership::Stub>> stubs_;  // guarded by mu_
};

}  // namespace cairn::membership
