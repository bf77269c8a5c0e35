#include "core/transport/grpc_transport.h"

#include <utility>

#include "core/transport/grpc_internal.h"
#include "core/transport/grpc_service.h"
#include "core/transport/peer_stream.h"

namespace cairn::transport {

using grpc_internal::Cancellable;
using grpc_internal::Connection;
using grpc_internal::PeerStream;
using grpc_internal::Shared;

namespace {

// "host:port" → (host, port); the host may be a bracketed IPv6 literal.
bool splitHostPort(const std::string& address, std::string& host, std::string& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) return false;
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  return port.find_first_not_of("0123456789") == std::string::npos;
}

// A unary call in flight. Owns what gRPC reads and writes until OnDone, where it reports to
// `done` and releases itself.
template <typename Req, typename Resp>
class UnaryCall final : public grpc::ClientUnaryReactor, public Cancellable {
 public:
  UnaryCall(std::shared_ptr<Shared> shared, std::string what, Req request, Done<Resp> done,
            Transport::Deadline deadline)
      : shared_(std::move(shared)),
        what_(std::move(what)),
        request_(std::move(request)),
        done_(std::move(done)) {
    // Monotonic, so that a wall-clock step neither expires nor extends calls.
    context_.set_deadline(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_millis(deadline.count(), GPR_TIMESPAN)));
    context_.AddMetadata(grpc_internal::kFromMetadata, shared_->stamp().from_address);
  }

  // Starts the call through `start(stub, context, request, response, reactor)`; `self` keeps it
  // alive until OnDone.
  template <typename StartFn>
  void start(v1::Cluster::Stub& stub, std::shared_ptr<UnaryCall> self, StartFn start_fn) {
    grpc_internal::handOff(this);
    std::lock_guard op(op_mu_);
    self_ = std::move(self);
    start_fn(stub, &context_, &request_, &response_, this);
    StartCall();
  }

  // Reports `status` to `done` soon, on a transport thread, without starting the call.
  void fail(Status status) {
    grpc_internal::runSoon(shared_, [done = std::move(done_), status] { done(status); });
  }

  void cancel() override {
    std::lock_guard op(op_mu_);
    context_.TryCancel();
  }

  void OnDone(const grpc::Status& status) override {
    grpc_internal::takeOver(this);
    { std::lock_guard op(op_mu_); }  // orders this after start() and cancel()
    std::shared_ptr<Shared> shared = shared_;
    shared->untrack(this);
    Done<Resp> done = std::move(done_);
    grpc_internal::runCallback(what_, [&] {
      if (status.ok()) {
        done(std::move(response_));
      } else {
        done(unavailable(what_ + ": " + grpc_internal::describe(status)));
      }
    });
    done = nullptr;
    self_.reset();  // may destroy this
    shared->pending.done();
  }

 private:
  const std::shared_ptr<Shared> shared_;
  const std::string what_;
  // Held while starting or cancelling the call and at the start of OnDone: never contended by
  // design, it makes the order gRPC guarantees visible to ThreadSanitizer.
  std::mutex op_mu_;
  grpc::ClientContext context_;
  Req request_;
  Resp response_;
  Done<Resp> done_;
  std::shared_ptr<UnaryCall> self_;
};

}  // namespace

GrpcTransport::GrpcTransport(GrpcTransportOptions options)
    : shared_(std::make_shared<Shared>(std::move(options))) {}

GrpcTransport::~GrpcTransport() {
  stop();
  std::lock_guard lock(stopper_mu_);
  if (stopper_.joinable()) stopper_.join();
}

Status GrpcTransport::start(const std::string& address, PeerService* service) {
  std::string host, port;
  if (service == nullptr) return invalidArgument("transport: no peer service");
  if (!splitHostPort(address, host, port)) {
    return invalidArgument("transport: address must be ip:port, got \"" + address + "\"");
  }
  std::lock_guard lock(mu_);
  if (state_ != State::kNew) return invalidArgument("transport: already started");
  auto impl = std::make_unique<grpc_internal::ClusterServiceImpl>(service, shared_);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  builder.AddListeningPort(address, tls::serverCredentials(shared_->options.tls.get()),
                           &bound_port);
  grpc_internal::configureServer(shared_->options, builder);
  builder.RegisterService(impl.get());
  for (grpc::Service* extra : shared_->options.extra_services) builder.RegisterService(extra);
  grpc_internal::handOff(impl.get());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    if (server) server->Shutdown();
    return unavailable("transport: cannot listen on " + address);
  }
  service_ = std::move(impl);
  server_ = std::move(server);
  bound_address_ = host + ":" + std::to_string(bound_port);
  std::string advertised = shared_->options.advertise_address;
  if (advertised.empty()) advertised = port == "0" ? bound_address_ : address;
  if (host == "0.0.0.0" || host == "[::]") {
    LOG_WARN(grpc_internal::kLogComponent, "advertising "
                                               << advertised
                                               << " to peers; set advertise_address to the "
                                                  "address they dial");
  }
  shared_->setAdvertised(std::move(advertised));
  state_ = State::kRunning;
  LOG_INFO(grpc_internal::kLogComponent, "serving cluster RPC on " << bound_address_);
  return Status::ok();
}

std::string GrpcTransport::boundAddress() const {
  std::lock_guard lock(mu_);
  return bound_address_;
}

void GrpcTransport::stop() {
  StreamList streams;
  {
    std::lock_guard lock(mu_);
    if (state_ == State::kStopped) return;
    state_ = State::kStopped;
    for (auto& [id, stream] : streams_) streams.push_back(std::move(stream));
    streams_.clear();
  }
  for (const auto& stream : streams) stream->close();
  for (const auto& call : shared_->trackedCalls()) call->cancel();
  if (service_) service_->stop();
  if (grpc_internal::CallbackScope::active()) {
    // Waiting here would wait for ourselves: the destructor joins this thread instead.
    std::lock_guard lock(stopper_mu_);
    stopper_ = std::thread([this] { finishStop(); });
    return;
  }
  finishStop();
}

void GrpcTransport::finishStop() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + shared_->options.shutdown_grace);
    grpc_internal::takeOver(service_.get());  // every call it served has finished
  }
  shared_->pending.waitIdle();
}

void GrpcTransport::setClusterId(const std::string& cluster_id) {
  shared_->setClusterId(cluster_id);
}

void GrpcTransport::setPeer(uint64_t id, const std::string& address) {
  StreamList closing;
  {
    std::lock_guard lock(mu_);
    std::string& current = peers_[id];
    if (current == address) return;
    current = address;
    detachStreamLocked(id, closing);
  }
  for (const auto& stream : closing) stream->close();
}

void GrpcTransport::removePeer(uint64_t id) {
  StreamList closing;
  {
    std::lock_guard lock(mu_);
    peers_.erase(id);
    detachStreamLocked(id, closing);
  }
  for (const auto& stream : closing) stream->close();
}

void GrpcTransport::setBlockedPeers(std::set<std::string> addresses) {
  StreamList closing;
  {
    std::lock_guard lock(mu_);
    for (auto it = streams_.begin(); it != streams_.end();) {
      if (addresses.count(it->second->address()) == 0) {
        ++it;
        continue;
      }
      closing.push_back(std::move(it->second));
      it = streams_.erase(it);
    }
    shared_->setBlocked(std::move(addresses));
  }
  for (const auto& stream : closing) stream->close();
}

void GrpcTransport::detachStreamLocked(uint64_t id, StreamList& closing) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  closing.push_back(std::move(it->second));
  streams_.erase(it);
}

std::shared_ptr<Connection> GrpcTransport::connectionLocked(const std::string& address) {
  std::shared_ptr<Connection>& conn = connections_[address];
  if (!conn) {
    conn = std::make_shared<Connection>();
    conn->channel = tls::createChannel(shared_->options.tls.get(), address,
                                       grpc_internal::clientChannelArguments(shared_->options));
    conn->stub = v1::Cluster::NewStub(conn->channel);
  }
  return conn;
}

std::shared_ptr<PeerStream> GrpcTransport::streamLocked(uint64_t id, const std::string& address) {
  std::shared_ptr<PeerStream>& stream = streams_[id];
  if (!stream) {
    stream = std::make_shared<PeerStream>(id, address, connectionLocked(address), shared_);
  }
  return stream;
}

void GrpcTransport::send(std::vector<raft::Message> messages) {
  struct Group {
    uint64_t to;
    std::shared_ptr<PeerStream> stream;  // null: unknown or blocked destination
    std::vector<raft::Message> messages;
  };
  std::vector<Group> groups;
  uint64_t unknown = 0, blocked = 0, down = 0;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) down = messages.size();
    for (raft::Message& m : messages) {
      if (down > 0) break;
      Group* group = nullptr;
      for (Group& g : groups) {
        if (g.to == m.to()) group = &g;
      }
      if (group == nullptr) {
        group = &groups.emplace_back(Group{m.to(), nullptr, {}});
        auto peer = peers_.find(m.to());
        if (peer != peers_.end() && !shared_->isBlocked(peer->second)) {
          group->stream = streamLocked(m.to(), peer->second);
        }
      }
      if (group->stream) {
        group->messages.push_back(std::move(m));
      } else if (peers_.count(m.to()) == 0) {
        ++unknown;
      } else {
        ++blocked;
      }
    }
  }
  shared_->counters.dropped_unknown_peer += unknown;
  shared_->counters.dropped_blocked += blocked;
  shared_->counters.dropped_stream_down += down;
  for (Group& g : groups) {
    if (g.stream) g.stream->enqueue(g.messages);
  }
}

template <typename Req, typename Resp, typename StartFn>
void GrpcTransport::unary(const char* method, const std::string& address, Req request,
                          Deadline deadline, Done<Resp> done, StartFn start) {
  const std::string what = std::string(method) + " to " + address;
  auto call = std::make_shared<UnaryCall<Req, Resp>>(shared_, what, std::move(request),
                                                     std::move(done), deadline);
  std::shared_ptr<Connection> conn;
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (state_ != State::kRunning) {
      refused =
          unavailable(what + ": transport " + (state_ == State::kNew ? "not started" : "stopped"));
    } else if (shared_->isBlocked(address)) {
      refused = unavailable(what + ": address blocked (fault injection)");
    } else {
      conn = connectionLocked(address);
      shared_->pending.add();
      shared_->track(call.get(), call);
    }
  }
  if (refused.isOk()) {
    call->start(*conn->stub, call, start);
  } else {
    call->fail(std::move(refused));
  }
}

void GrpcTransport::forward(const std::string& address, v1::ForwardRequest request,
                            Deadline deadline, Done<v1::ForwardResponse> done) {
  unary("Forward", address, std::move(request), deadline, std::move(done),
        [](v1::Cluster::Stub& stub, auto* context, auto* req, auto* resp, auto* reactor) {
          stub.async()->Forward(context, req, resp, reactor);
        });
}

void GrpcTransport::hello(const std::string& address, v1::HelloRequest request, Deadline deadline,
                          Done<v1::HelloResponse> done) {
  unary("Hello", address, std::move(request), deadline, std::move(done),
        [](v1::Cluster::Stub& stub, auto* context, auto* req, auto* resp, auto* reactor) {
          stub.async()->Hello(context, req, resp, reactor);
        });
}

void GrpcTransport::join(const std::string& address, v1::JoinRequest request, Deadline deadline,
                         Done<v1::MembershipResponse> done) {
  unary("Join", address, std::move(request), deadline, std::move(done),
        [](v1::Cluster::Stub& stub, auto* context, auto* req, auto* resp, auto* reactor) {
          stub.async()->Join(context, req, resp, reactor);
        });
}

void GrpcTransport::leave(const std::string& address, v1::LeaveRequest request, Deadline deadline,
                          Done<v1::MembershipResponse> done) {
  unary("Leave", address, std::move(request), deadline, std::move(done),
        [](v1::Cluster::Stub& stub, auto* context, auto* req, auto* resp, auto* reactor) {
          stub.async()->Leave(context, req, resp, reactor);
        });
}

GrpcTransportStats GrpcTransport::stats() const {
  const Shared::Counters& c = shared_->counters;
  GrpcTransportStats s;
  s.messages_sent = c.messages_sent;
  s.batches_sent = c.batches_sent;
  s.dropped_unknown_peer = c.dropped_unknown_peer;
  s.dropped_blocked = c.dropped_blocked;
  s.dropped_queue_full = c.dropped_queue_full;
  s.dropped_too_large = c.dropped_too_large;
  s.dropped_stream_down = c.dropped_stream_down;
  s.batches_received = c.batches_received;
  s.messages_received = c.messages_received;
  s.batches_rejected = c.batches_rejected;
  s.streams_opened = c.streams_opened;
  return s;
}

}  // namespace cairn::transport
