#pragma once
// Internals shared by the pieces of GrpcTransport (outgoing streams, unary calls, the service).
// Not an API: include only from core/transport/*.cc.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cairn/v1/cluster.grpc.pb.h"
#include "core/base/logging.h"
#include "core/transport/grpc_transport.h"

namespace cairn::transport::grpc_internal {

inline constexpr char kLogComponent[] = "transport";
// Client metadata naming the caller's advertised address (unary requests carry no sender).
inline constexpr char kFromMetadata[] = "cairn-from";

// Counts work whose callback has not finished yet, so that stop() can wait until none is left.
// Thread-safe.
class PendingWork {
 public:
  void add();
  void done();
  void waitIdle();

 private:
  std::mutex mu_;
  std::condition_variable idle_;
  int64_t count_ = 0;  // guarded by mu_
};

// Marks the current thread as running a callback of a transport while in scope, so that stop()
// knows it must not wait for callbacks to drain there.
class CallbackScope {
 public:
  CallbackScope() { ++depth_; }
  ~CallbackScope() { --depth_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  static bool active() { return depth_ > 0; }

 private:
  static thread_local int depth_;
};

// Runs `fn` (application code: a PeerService method or a `done`) in a CallbackScope. An exception
// is logged and swallowed (it must not unwind into gRPC's threads); returns false then.
template <typename Fn>
bool runCallback(std::string_view what, Fn&& fn) {
  CallbackScope scope;
  try {
    fn();
    return true;
  } catch (const std::exception& e) {
    LOG_ERROR(kLogComponent, what << " threw: " << e.what());
  } catch (...) {
    LOG_ERROR(kLogComponent, what << " threw a non-standard exception");
  }
  return false;
}

// gRPC runs each reaction after the operation that started it, through synchronisation that
// ThreadSanitizer cannot see (Debian's gRPC and Abseil are not instrumented). These two mark that
// edge for it around objects we share with gRPC; they compile to nothing in other builds.
void handOff(const void* object);   // before starting a gRPC operation on `object`
void takeOver(const void* object);  // first thing in the reaction to it

// A call that stop() must be able to cancel. Thread-safe.
class Cancellable {
 public:
  virtual ~Cancellable() = default;
  virtual void cancel() = 0;
};

// State shared by the transport and everything in flight; held by shared_ptr so that a late
// callback never outlives it. Thread-safe.
struct Shared {
  explicit Shared(GrpcTransportOptions opts) : options(std::move(opts)) {}

  const GrpcTransportOptions options;

  struct Stamp {
    std::string cluster_id;
    std::string from_address;
  };
  Stamp stamp() const;
  std::string clusterId() const;
  void setClusterId(std::string cluster_id);
  void setAdvertised(std::string address);
  bool isBlocked(std::string_view address) const;
  void setBlocked(std::set<std::string> addresses);

  // Unary client calls in flight, cancelled by stop().
  void track(Cancellable* call, std::shared_ptr<Cancellable> owner);
  void untrack(Cancellable* call);
  std::vector<std::shared_ptr<Cancellable>> trackedCalls() const;

  struct Counters {
    std::atomic<uint64_t> messages_sent{0};
    std::atomic<uint64_t> batches_sent{0};
    std::atomic<uint64_t> dropped_unknown_peer{0};
    std::atomic<uint64_t> dropped_blocked{0};
    std::atomic<uint64_t> dropped_queue_full{0};
    std::atomic<uint64_t> dropped_too_large{0};
    std::atomic<uint64_t> dropped_stream_down{0};
    std::atomic<uint64_t> batches_received{0};
    std::atomic<uint64_t> messages_received{0};
    std::atomic<uint64_t> batches_rejected{0};
    std::atomic<uint64_t> streams_opened{0};
  };
  Counters counters;
  // Client-side work (outgoing streams, unary calls, deferred failures) not yet completed.
  PendingWork pending;

 private:
  mutable std::mutex mu_;
  std::string cluster_id_;                                                // guarded by mu_
  std::string advertised_;                                                // guarded by mu_
  std::set<std::string, std::less<>> blocked_;                            // guarded by mu_
  std::unordered_map<Cancellable*, std::shared_ptr<Cancellable>> calls_;  // guarded by mu_
};

// One channel per peer address, shared by its raft stream and the unary calls to it.
struct Connection {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Cluster::Stub> stub;
};

grpc::ChannelArguments clientChannelArguments(const GrpcTransportOptions& options);
void configureServer(const GrpcTransportOptions& options, grpc::ServerBuilder& builder);

// "code NAME: message" for logs and errors.
std::string describe(const grpc::Status& status);

// Runs `fn` soon on a gRPC callback thread (never inline), counted in shared->pending.
void runSoon(const std::shared_ptr<Shared>& shared, std::function<void()> fn);

}  // namespace cairn::transport::grpc_internal
