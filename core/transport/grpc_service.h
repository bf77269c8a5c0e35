#pragma once
// ClusterServiceImpl: the server side of cairn.v1.Cluster (callback API). Raft batches go to
// PeerService::onRaftMessages from the stream's read reaction; unary requests go to the
// PeerService methods, and the call finishes when the service calls `reply` (from any thread).

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/transport/grpc_internal.h"

namespace cairn::transport::grpc_internal {

// A call in progress on the server that stop() finishes early. Thread-safe.
class ServerCall {
 public:
  virtual ~ServerCall() = default;
  // Finishes the call with `status` unless it already finished.
  virtual void abort(const grpc::Status& status) = 0;
};

class ClusterServiceImpl final : public v1::Cluster::CallbackService {
 public:
  // `service` outlives this object, which outlives the grpc::Server it is registered with.
  ClusterServiceImpl(PeerService* service, std::shared_ptr<Shared> shared);

  // Finishes every call in progress with UNAVAILABLE and refuses later ones. Thread-safe.
  void stop();

  grpc::ServerReadReactor<v1::RaftBatch>* RaftStream(grpc::CallbackServerContext* context,
                                                     v1::StreamAck* ack) override;
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* context,
                                    const v1::ForwardRequest* request,
                                    v1::ForwardResponse* response) override;
  grpc::ServerUnaryReactor* Hello(grpc::CallbackServerContext* context,
                                  const v1::HelloRequest* request,
                                  v1::HelloResponse* response) override;
  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* context,
                                 const v1::JoinRequest* request,
                                 v1::MembershipResponse* response) override;
  grpc::ServerUnaryReactor* Leave(grpc::CallbackServerContext* context,
                                  const v1::LeaveRequest* request,
                                  v1::MembershipResponse* response) override;

  // For the calls. The registry owns a call from its start until its OnDone.
  PeerService& service() const { return *service_; }
  Shared& shared() const { return *shared_; }
  // Registers `call`; false when stopped (the caller then aborts it).
  bool track(std::shared_ptr<ServerCall> call);
  void untrack(ServerCall* call);

 private:
  template <typename Req, typename Resp, typename Handler>
  grpc::ServerUnaryReactor* unary(const char* method, grpc::CallbackServerContext* context,
                                  const Req& request, Resp* response, Handler handler);

  PeerService* const service_;
  const std::shared_ptr<Shared> shared_;

  std::mutex mu_;
  bool stopped_ = false;                                                // guarded by mu_
  std::unordered_map<ServerCall*, std::shared_ptr<ServerCall>> calls_;  // guarded by mu_
};

}  // namespace cairn::transport::grpc_internal
