#include "core/transport/grpc_service.h"

#include <atomic>
#include <utility>
#include <vector>

namespace cairn::transport::grpc_internal {
namespace {

const grpc::Status kStopping(grpc::StatusCode::UNAVAILABLE, "server stopping");
const grpc::Status kBlocked(grpc::StatusCode::UNAVAILABLE, "caller blocked (fault injection)");

std::string fromMetadata(const grpc::CallbackServerContext& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kFromMetadata);
  if (it == metadata.end()) return "";
  return std::string(it->second.data(), it->second.size());
}

// One incoming raft stream: reads batch after batch and hands each accepted one to the service.
// Reads are sequential, so one sender's batches are delivered in order, one at a time.
class InboundStream final : public grpc::ServerReadReactor<v1::RaftBatch>, public ServerCall {
 public:
  InboundStream(ClusterServiceImpl* owner, grpc::CallbackServerContext* context)
      : owner_(owner), context_(context), peer_(fromMetadata(*context)) {}

  void begin() {
    std::lock_guard lock(mu_);
    handOff(this);
    if (!finished_) StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    takeOver(this);
    if (ok) deliver();
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!ok) {
      finishLocked(endOfStream());
      return;
    }
    batch_.Clear();
    handOff(this);
    StartRead(&batch_);
  }

  void OnCancel() override {
    takeOver(this);
    abort(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    takeOver(this);
    { std::lock_guard lock(mu_); }  // orders this after the last reaction
    owner_->untrack(this);
  }

  void abort(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    finishLocked(status);
  }

 private:
  void finishLocked(const grpc::Status& status) {
    if (finished_) return;
    finished_ = true;
    handOff(this);
    Finish(status);
  }

  // Our senders never half-close: they cancel. A read that fails on a live call is a batch gRPC
  // could not parse (or a foreign client's half-close).
  grpc::Status endOfStream() {
    if (context_->IsCancelled()) return grpc::Status::CANCELLED;
    LOG_WARN(kLogComponent, "raft stream from " << (peer_.empty() ? context_->peer() : peer_)
                                                << ": unreadable batch or end of stream; closing");
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "unreadable raft batch");
  }

  // Runs between two reads: batch_ is ours until the next StartRead.
  void deliver() {
    Shared& shared = owner_->shared();
    const std::string& from = batch_.from_address().empty() ? peer_ : batch_.from_address();
    if (!from.empty() && shared.isBlocked(from)) {
      ++shared.counters.batches_rejected;
      return;
    }
    if (!sameCluster(shared.clusterId())) {
      ++shared.counters.batches_rejected;
      return;
    }
    if (batch_.messages_size() == 0) return;
    std::vector<raft::Message> messages;
    messages.reserve(batch_.messages_size());
    for (v1::RaftMessage& m : *batch_.mutable_messages()) messages.push_back(std::move(m));
    ++shared.counters.batches_received;
    shared.counters.messages_received += messages.size();
    runCallback("onRaftMessages", [&] { owner_->service().onRaftMessages(std::move(messages)); });
  }

  bool sameCluster(const std::string& own) {
    const std::string& theirs = batch_.cluster_id();
    if (theirs.empty() || own.empty() || theirs == own) return true;
    if (!warned_cluster_.exchange(true)) {
      LOG_WARN(kLogComponent, "dropping raft batches from " << batch_.from_address()
                                                            << ": cluster id " << theirs
                                                            << " is not ours (" << own << ")");
    }
    return false;
  }

  ClusterServiceImpl* const owner_;
  grpc::CallbackServerContext* const context_;  // owned by gRPC, valid until OnDone
  const std::string peer_;                      // the sender's cairn-from metadata
  std::atomic<bool> warned_cluster_{false};
  v1::RaftBatch batch_;  // filled by gRPC between StartRead and OnReadDone

  std::mutex mu_;
  bool finished_ = false;  // guarded by mu_
};

// One incoming unary call; finished by the first of reply, abort (stop) or cancellation.
template <typename Resp>
class InboundUnary final : public grpc::ServerUnaryReactor, public ServerCall {
 public:
  InboundUnary(ClusterServiceImpl* owner, Resp* response) : owner_(owner), response_(response) {
    handOff(this);
  }

  void reply(Resp response) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    *response_ = std::move(response);
    Finish(grpc::Status::OK);
  }

  void abort(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    Finish(status);
  }

  void OnCancel() override {
    takeOver(this);
    abort(grpc::Status::CANCELLED);
  }
  void OnDone() override {
    takeOver(this);
    { std::lock_guard lock(mu_); }  // orders this after reply or abort
    owner_->untrack(this);
  }

 private:
  ClusterServiceImpl* const owner_;
  Resp* const response_;  // owned by gRPC, valid until OnDone

  std::mutex mu_;
  bool finished_ = false;  // guarded by mu_
};

}  // namespace

ClusterServiceImpl::ClusterServiceImpl(PeerService* service, std::shared_ptr<Shared> shared)
    : service_(service), shared_(std::move(shared)) {}

bool ClusterServiceImpl::track(std::shared_ptr<ServerCall> call) {
  std::lock_guard lock(mu_);
  ServerCall* key = call.get();
  calls_.emplace(key, std::move(call));
  return !stopped_;
}

void ClusterServiceImpl::untrack(ServerCall* call) {
  std::shared_ptr<ServerCall> owned;  // may destroy the call after the lock is released
  {
    std::lock_guard lock(mu_);
    auto it = calls_.find(call);
    if (it == calls_.end()) return;
    owned = std::move(it->second);
    calls_.erase(it);
  }
  owned.reset();
  handOff(this);  // to the transport, which destroys this service once the server shut down
}

void ClusterServiceImpl::stop() {
  std::vector<std::shared_ptr<ServerCall>> calls;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    calls.reserve(calls_.size());
    for (const auto& [key, call] : calls_) calls.push_back(call);
  }
  for (const auto& call : calls) call->abort(kStopping);
}

grpc::ServerReadReactor<v1::RaftBatch>* ClusterServiceImpl::RaftStream(
    grpc::CallbackServerContext* context, v1::StreamAck* /*ack*/) {
  takeOver(this);
  auto call = std::make_shared<InboundStream>(this, context);
  InboundStream* reactor = call.get();
  if (track(std::move(call))) {
    reactor->begin();
  } else {
    reactor->abort(kStopping);
  }
  return reactor;  // OnDone (which may destroy it) cannot run before this handler returns
}

template <typename Req, typename Resp, typename Handler>
grpc::ServerUnaryReactor* ClusterServiceImpl::unary(const char* method,
                                                    grpc::CallbackServerContext* context,
                                                    const Req& request, Resp* response,
                                                    Handler handler) {
  takeOver(this);
  auto call = std::make_shared<InboundUnary<Resp>>(this, response);
  InboundUnary<Resp>* reactor = call.get();
  if (!track(call)) {
    reactor->abort(kStopping);
    return reactor;
  }
  const std::string from = fromMetadata(*context);
  if (!from.empty() && shared_->isBlocked(from)) {
    reactor->abort(kBlocked);
    return reactor;
  }
  Reply<Resp> reply = [call](Resp answer) { call->reply(std::move(answer)); };
  const bool ok = runCallback(method, [&] { handler(Req(request), std::move(reply)); });
  if (!ok) reactor->abort(grpc::Status(grpc::StatusCode::INTERNAL, "handler failed"));
  return reactor;
}

grpc::ServerUnaryReactor* ClusterServiceImpl::Forward(grpc::CallbackServerContext* context,
                                                      const v1::ForwardRequest* request,
                                                      v1::ForwardResponse* response) {
  return unary("onForward", context, *request, response, [this](auto req, auto reply) {
    service_->onForward(std::move(req), std::move(reply));
  });
}

grpc::ServerUnaryReactor* ClusterServiceImpl::Hello(grpc::CallbackServerContext* context,
                                                    const v1::HelloRequest* request,
                                                    v1::HelloResponse* response) {
  return unary("onHello", context, *request, response, [this](auto req, auto reply) {
    service_->onHello(std::move(req), std::move(reply));
  });
}

grpc::ServerUnaryReactor* ClusterServiceImpl::Join(grpc::CallbackServerContext* context,
                                                   const v1::JoinRequest* request,
                                                   v1::MembershipResponse* response) {
  return unary("onJoin", context, *request, response, [this](auto req, auto reply) {
    service_->onJoin(std::move(req), std::move(reply));
  });
}

grpc::ServerUnaryReactor* ClusterServiceImpl::Leave(grpc::CallbackServerContext* context,
                                                    const v1::LeaveRequest* request,
                                                    v1::MembershipResponse* response) {
  return unary("onLeave", context, *request, response, [this](auto req, auto reply) {
    service_->onLeave(std::move(req), std::move(reply));
  });
}

}  // namespace cairn::transport::grpc_internal
