#include "core/membership/heartbeat_sender.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <mutex>
#include <random>

#include "cairn/v1/membership.grpc.pb.h"
#include "core/membership/unary_call.h"

namespace cairn::membership {
namespace {

std::string randomIncarnation() {
  std::random_device rd;
  std::mt19937_64 gen((uint64_t{rd()} << 32) ^ rd());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (char& c : out) c = kHex[gen() % 16];
  return out;
}

Status fromGrpc(const grpc::Status& s) {
  if (s.ok()) return Status::ok();
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return invalidArgument(s.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return notFound(s.error_message());
    default:
      return unavailable(s.error_message().empty() ? "membership call failed" : s.error_message());
  }
}

}  // namespace

struct HeartbeatSender::State : std::enable_shared_from_this<State> {
  HeartbeatSenderOptions options;
  HeartbeatSenderDeps deps;
  const std::string incarnation = randomIncarnation();

  mutable std::mutex mu;
  v1::ClientMember self;                  // guarded by mu
  bool running = false;                   // guarded by mu
  bool in_flight = false;                 // guarded by mu
  health::Scheduler::TaskId tick_id = 0;  // guarded by mu
  Stats stats;                            // guarded by mu
  std::chrono::milliseconds interval;     // guarded by mu

  State(v1::ClientMember s, HeartbeatSenderOptions o, HeartbeatSenderDeps d)
      : options(o), deps(std::move(d)), self(std::move(s)), interval(o.interval) {}

  // Requires mu.
  void scheduleLocked() {
    std::weak_ptr<State> weak = weak_from_this();
    tick_id = deps.scheduler->runAt(deps.scheduler->now() + interval, [weak] {
      if (auto me = weak.lock()) me->tick();
    });
  }

  // Requires mu. A third of the servers' client_timeout, at least min_interval, never more than
  // options.interval; the next tick (already scheduled) still uses the old interval.
  void followClientTimeoutLocked(uint32_t client_timeout_ms) {
    if (client_timeout_ms == 0) return;
    auto third = std::chrono::milliseconds(client_timeout_ms / 3);
    interval = std::min(std::max(third, options.min_interval), options.interval);
  }

  void tick() {
    v1::HeartbeatRequest request;
    {
      std::lock_guard lock(mu);
      if (!running) return;
      scheduleLocked();
      if (in_flight) return;  // the previous call's deadline will end it
      in_flight = true;
      ++stats.sent;
      *request.mutable_member() = self;
    }
    request.set_incarnation(incarnation);
    send(std::move(request));
  }

  void send(v1::HeartbeatRequest request) {
    std::shared_ptr<grpc::Channel> channel = deps.channel ? deps.channel() : nullptr;
    if (!channel) {
      finish(unavailable("no server connection"), nullptr, nullptr);
      return;
    }
    auto call = std::make_shared<UnaryCall<v1::HeartbeatRequest, v1::HeartbeatResponse>>();
    call->stub = v1::Membership::NewStub(channel);
    call->request = std::move(request);
    call->context.set_deadline(deadlineIn(options.timeout));
    std::weak_ptr<State> weak = weak_from_this();
    call->stub->async()->Heartbeat(&call->context, &call->request, &call->response,
                                   [weak, call, channel](grpc::Status s) {
                                     if (auto me = weak.lock()) {
                                       me->finish(fromGrpc(s), &call->response, channel);
                                     }
                                   });
  }

  void finish(const Status& s, const v1::HeartbeatResponse* response,
              const std::shared_ptr<grpc::Channel>& channel) {
    {
      std::lock_guard lock(mu);
      in_flight = false;
      if (s.isOk()) {
        ++stats.succeeded;
        followClientTimeoutLocked(response->client_timeout_ms());
      } else {
        ++stats.failed;
      }
      if (!running) return;
    }
    if (s.isOk()) {
      if (deps.on_servers) deps.on_servers(*response);
    } else if (deps.on_failure) {
      deps.on_failure(s, channel);
    }
  }

  void sendLeave(std::function<void(Status)> done) {
    std::shared_ptr<grpc::Channel> channel = deps.channel ? deps.channel() : nullptr;
    if (!channel) return done(unavailable("no server connection"));
    auto call = std::make_shared<UnaryCall<v1::MemberLeaveRequest, v1::MemberLeaveResponse>>();
    call->stub = v1::Membership::NewStub(channel);
    {
      std::lock_guard lock(mu);
      call->request.set_node_name(self.node_name());
    }
    call->request.set_incarnation(incarnation);
    call->context.set_deadline(deadlineIn(options.leave_timeout));
    call->stub->async()->Leave(
        &call->context, &call->request, &call->response,
        [call, done = std::move(done)](grpc::Status s) { done(fromGrpc(s)); });
  }
};

HeartbeatSender::HeartbeatSender(v1::ClientMember self, HeartbeatSenderOptions options,
                                 HeartbeatSenderDeps deps)
    : state_(std::make_shared<State>(std::move(self), options, std::move(deps))) {}

HeartbeatSender::~HeartbeatSender() { stop(); }

void HeartbeatSender::start() {
  {
    std::lock_guard lock(state_->mu);
    if (state_->running) return;
    state_->running = true;
  }
  std::weak_ptr<State> weak = state_;
  std::lock_guard lock(state_->mu);
  state_->tick_id = state_->deps.scheduler->runAt(state_->deps.scheduler->now(), [weak] {
    if (auto me = weak.lock()) me->tick();
  });
}

void HeartbeatSender::update(v1::ClientMember self) {
  std::lock_guard lock(state_->mu);
  state_->self = std::move(self);
}

void HeartbeatSender::leave(std::function<void(Status)> done) {
  stop();
  state_->sendLeave(std::move(done));
}

void HeartbeatSender::stop() {
  health::Scheduler::TaskId id = 0;
  {
    std::lock_guard lock(state_->mu);
    state_->running = false;
    id = std::exchange(state_->tick_id, 0);
  }
  if (id != 0) state_->deps.scheduler->cancel(id);
}

HeartbeatSender::Stats HeartbeatSender::stats() const {
  std::lock_guard lock(state_->mu);
  return state_->stats;
}

const std::string& HeartbeatSender::incarnation() const { return state_->incarnation; }

std::chrono::milliseconds HeartbeatSender::interval() const {
  std::lock_guard lock(state_->mu);
  return state_->interval;
}

}  // namespace cairn::membership
