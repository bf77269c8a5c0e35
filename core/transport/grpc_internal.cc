#include "core/transport/grpc_internal.h"

#include <grpcpp/alarm.h>
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#include <algorithm>
#include <utility>

namespace cairn::transport::grpc_internal {

thread_local int CallbackScope::depth_ = 0;

#if defined(__SANITIZE_THREAD__)
void handOff(const void* object) { __tsan_release(const_cast<void*>(object)); }
void takeOver(const void* object) { __tsan_acquire(const_cast<void*>(object)); }
#else
void handOff(const void* /*object*/) {}
void takeOver(const void* /*object*/) {}
#endif

void PendingWork::add() {
  std::lock_guard lock(mu_);
  ++count_;
}

void PendingWork::done() {
  std::lock_guard lock(mu_);
  if (--count_ == 0) idle_.notify_all();
}

void PendingWork::waitIdle() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [this] { return count_ == 0; });
}

Shared::Stamp Shared::stamp() const {
  std::lock_guard lock(mu_);
  return {cluster_id_, advertised_};
}

std::string Shared::clusterId() const {
  std::lock_guard lock(mu_);
  return cluster_id_;
}

void Shared::setClusterId(std::string cluster_id) {
  std::lock_guard lock(mu_);
  cluster_id_ = std::move(cluster_id);
}

void Shared::setAdvertised(std::string address) {
  std::lock_guard lock(mu_);
  advertised_ = std::move(address);
}

bool Shared::isBlocked(std::string_view address) const {
  std::lock_guard lock(mu_);
  return blocked_.find(address) != blocked_.end();
}

void Shared::setBlocked(std::set<std::string> addresses) {
  std::lock_guard lock(mu_);
  blocked_ = std::set<std::string, std::less<>>(std::make_move_iterator(addresses.begin()),
                                                std::make_move_iterator(addresses.end()));
}

void Shared::track(Cancellable* call, std::shared_ptr<Cancellable> owner) {
  std::lock_guard lock(mu_);
  calls_.emplace(call, std::move(owner));
}

void Shared::untrack(Cancellable* call) {
  std::shared_ptr<Cancellable> owner;  // released after the lock
  std::lock_guard lock(mu_);
  auto it = calls_.find(call);
  if (it == calls_.end()) return;
  owner = std::move(it->second);
  calls_.erase(it);
}

std::vector<std::shared_ptr<Cancellable>> Shared::trackedCalls() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<Cancellable>> out;
  out.reserve(calls_.size());
  for (const auto& [ptr, owner] : calls_) out.push_back(owner);
  return out;
}

namespace {

int millis(std::chrono::milliseconds d) {
  return static_cast<int>(std::clamp<int64_t>(d.count(), 0, INT32_MAX));
}

}  // namespace

grpc::ChannelArguments clientChannelArguments(const GrpcTransportOptions& options) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, millis(options.keepalive_time));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, millis(options.keepalive_timeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, millis(options.min_reconnect_backoff));
  // Despite its name, gRPC's subchannel reads this as the minimum connect timeout.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, millis(options.connect_timeout));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, millis(options.max_reconnect_backoff));
  // Each transport owns its connections: two transports in one process (tests) must not share a
  // TCP connection, or blocking and restarts would leak between them.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  return args;
}

void configureServer(const GrpcTransportOptions& options, grpc::ServerBuilder& builder) {
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, millis(options.keepalive_time));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, millis(options.keepalive_timeout));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Peers ping every keepalive_time even when idle: accept that rather than answering GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             millis(options.keepalive_time / 2));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
  // A second server on a port in use must fail, not share it silently.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
}

std::string describe(const grpc::Status& status) {
  static constexpr const char* kNames[] = {"OK",
                                           "CANCELLED",
                                           "UNKNOWN",
                                           "INVALID_ARGUMENT",
                                           "DEADLINE_EXCEEDED",
                                           "NOT_FOUND",
                                           "ALREADY_EXISTS",
                                           "PERMISSION_DENIED",
                                           "RESOURCE_EXHAUSTED",
                                           "FAILED_PRECONDITION",
                                           "ABORTED",
                                           "OUT_OF_RANGE",
                                           "UNIMPLEMENTED",
                                           "INTERNAL",
                                           "UNAVAILABLE",
                                           "DATA_LOSS",
                                           "UNAUTHENTICATED"};
  const int code = status.error_code();
  std::string out = code >= 0 && code < static_cast<int>(std::size(kNames))
                        ? kNames[code]
                        : "code " + std::to_string(code);
  if (!status.error_message().empty()) out += ": " + status.error_message();
  return out;
}

namespace {
// Held around Alarm::Set and first thing in the alarm's callback (which cannot read its captures
// before): orders the two for ThreadSanitizer. Deferred callbacks are rare (refused calls).
std::mutex alarm_order;
}  // namespace

void runSoon(const std::shared_ptr<Shared>& shared, std::function<void()> fn) {
  shared->pending.add();
  auto* alarm = new grpc::Alarm();
  // The alarm is deleted from its own callback: gRPC keeps its implementation alive until the
  // callback returns.
  std::lock_guard order(alarm_order);
  alarm->Set(gpr_now(GPR_CLOCK_MONOTONIC),
             [alarm, shared, fn = std::move(fn)](bool /*fired*/) mutable {
               { std::lock_guard ordered(alarm_order); }
               std::function<void()> run = std::move(fn);
               runCallback("transport callback", run);
               run = nullptr;
               delete alarm;
               shared->pending.done();
             });
}

}  // namespace cairn::transport::grpc_internal
