#pragma once
// GrpcTransport: Transport over gRPC (service cairn.v1.Cluster in cluster.proto), built on gRPC's
// callback API: no thread is parked per stream or per call.
//
// Raft traffic: one long-lived client stream per destination peer. send() appends to that peer's
// queue and returns; the stream writes one RaftBatch holding everything queued since its previous
// write completed (natural batching). Unary calls reuse the channel of their address.
//
// Threads: every callback (PeerService methods, `done`) runs on a gRPC callback thread, never
// inline in the calling thread (a refused call's `done` too). For one incoming stream
// onRaftMessages is never called concurrently, so a sender's messages arrive in the order it
// sent them; different senders are delivered concurrently. Order holds within one stream: when a
// stream is replaced (reconnect, setPeer with a new address, removePeer, blocking), the new
// stream's first batches may be delivered before the old stream's last ones.
//
// Drops (raft retransmits; all counted in stats()): messages to an id not in the address book or
// to a blocked address; the newest message when a peer's queue is full; whatever was queued for a
// stream that broke; messages sent to a peer during its reconnect backoff or after stop();
// incoming batches stamped with another cluster id or sent from a blocked address.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/tls/rpc_tls.h"
#include "core/transport/transport.h"

namespace grpc {
class Service;
}  // namespace grpc

namespace grpc {
class Server;
}  // namespace grpc

namespace cairn::transport {

namespace grpc_internal {
class ClusterServiceImpl;
class PeerStream;
struct Connection;
struct Shared;
}  // namespace grpc_internal

struct GrpcTransportOptions {
  // The RPC address peers dial ("ip:port"), stamped on raft batches and sent as `cairn-from` on
  // calls; fault injection (setBlockedPeers) matches on it. Empty: the address given to start(),
  // or boundAddress() when its port is 0. Set it when start() binds a wildcard (0.0.0.0:8300).
  std::string advertise_address;
  // Per destination peer; beyond either bound the newest message is dropped. A single message
  // larger than max_queued_bytes is still accepted into an empty queue.
  size_t max_queued_messages = 10'000;
  size_t max_queued_bytes = size_t{64} << 20;
  // Delay before a broken raft stream may reconnect: doubles per failed attempt, resets on a
  // successful write.
  std::chrono::milliseconds min_stream_backoff{50};
  std::chrono::milliseconds max_stream_backoff{1000};
  // gRPC message limit in both directions (a snapshot-restore command can be large).
  int max_message_bytes = 256 << 20;
  // HTTP/2 keepalive: a silent peer is declared dead after time + timeout.
  std::chrono::milliseconds keepalive_time{1000};
  std::chrono::milliseconds keepalive_timeout{1000};
  // gRPC channel reconnect backoff: first and longest delay between connection attempts.
  std::chrono::milliseconds min_reconnect_backoff{100};
  std::chrono::milliseconds max_reconnect_backoff{1000};
  // Least time one connection attempt (TCP + HTTP/2 handshake) gets before it counts as failed;
  // gRPC gives an attempt max(this, current backoff) and enforces at least 100 ms.
  std::chrono::milliseconds connect_timeout{1000};
  // How long stop() lets the server finish calls that are still running.
  std::chrono::milliseconds shutdown_grace{100};
  // More gRPC services served on the same port (the client-agent and membership services of
  // servers). Not owned: each must outlive the transport's stop().
  std::vector<grpc::Service*> extra_services;
  // Mutual TLS on the listener and on every channel (docs/security.md, "TLS"); null: plain.
  std::shared_ptr<tls::RpcTls> tls;
};

// Counters since construction. Messages are raft messages; batches are RaftBatch writes/reads.
struct GrpcTransportStats {
  uint64_t messages_sent = 0;  // handed to a stream write
  uint64_t batches_sent = 0;
  uint64_t dropped_unknown_peer = 0;
  uint64_t dropped_blocked = 0;
  uint64_t dropped_queue_full = 0;
  uint64_t dropped_too_large = 0;    // one message above max_message_bytes
  uint64_t dropped_stream_down = 0;  // broken stream, reconnect backoff, or stopped
  uint64_t batches_received = 0;     // accepted and handed to onRaftMessages
  uint64_t messages_received = 0;
  uint64_t batches_rejected = 0;  // other cluster or blocked sender
  uint64_t streams_opened = 0;    // outgoing raft streams started (first one and reconnects)
};

class GrpcTransport final : public Transport {
 public:
  explicit GrpcTransport(GrpcTransportOptions options = {});
  // Calls stop(). Must not run on a transport thread (inside a callback of this transport).
  ~GrpcTransport() override;

  GrpcTransport(const GrpcTransport&) = delete;
  GrpcTransport& operator=(const GrpcTransport&) = delete;

  // Binds `address` ("ip:port", "[ip6]:port"; port 0 picks a free port) and serves `service`.
  // Once only. See GrpcTransportOptions::advertise_address for the address peers see.
  Status start(const std::string& address, PeerService* service) override;
  std::string boundAddress() const override;
  // Cancels outgoing streams and calls (their `done` gets kUnavailable), finishes incoming calls,
  // then shuts the server down within options.shutdown_grace. On a non-transport thread it
  // returns once no callback of this transport runs or will run; on a transport thread (inside
  // a callback) that wait happens in the background and the destructor joins it. Idempotent.
  void stop() override;

  void setClusterId(const std::string& cluster_id) override;
  void setPeer(uint64_t id, const std::string& address) override;
  void removePeer(uint64_t id) override;
  void send(std::vector<raft::Message> messages) override;

  void forward(const std::string& address, v1::ForwardRequest request, Deadline deadline,
               Done<v1::ForwardResponse> done) override;
  void hello(const std::string& address, v1::HelloRequest request, Deadline deadline,
             Done<v1::HelloResponse> done) override;
  void join(const std::string& address, v1::JoinRequest request, Deadline deadline,
            Done<v1::MembershipResponse> done) override;
  void leave(const std::string& address, v1::LeaveRequest request, Deadline deadline,
             Done<v1::MembershipResponse> done) override;

  // Closes the streams to newly blocked addresses (dropping what they had queued).
  void setBlockedPeers(std::set<std::string> addresses) override;

  // Thread-safe snapshot of the counters.
  GrpcTransportStats stats() const;

 private:
  enum class State { kNew, kRunning, kStopped };
  using StreamList = std::vector<std::shared_ptr<grpc_internal::PeerStream>>;

  template <typename Req, typename Resp, typename StartFn>
  void unary(const char* method, const std::string& address, Req request, Deadline deadline,
             Done<Resp> done, StartFn start);
  // The channel and stub for `address`, created on first use. Requires mu_.
  std::shared_ptr<grpc_internal::Connection> connectionLocked(const std::string& address);
  // The stream to peer `id` at `address`, created on first use. Requires mu_.
  std::shared_ptr<grpc_internal::PeerStream> streamLocked(uint64_t id, const std::string& address);
  // Removes the stream of `id` if any; the caller closes it outside mu_. Requires mu_.
  void detachStreamLocked(uint64_t id, StreamList& closing);
  void finishStop();

  const std::shared_ptr<grpc_internal::Shared> shared_;

  mutable std::mutex mu_;
  State state_ = State::kNew;                                               // guarded by mu_
  std::string bound_address_;                                               // guarded by mu_
  std::map<uint64_t, std::string> peers_;                                   // guarded by mu_
  std::map<uint64_t, std::shared_ptr<grpc_internal::PeerStream>> streams_;  // guarded by mu_
  std::unordered_map<std::string, std::shared_ptr<grpc_internal::Connection>>
      connections_;  // guarded by mu_

  // Written by start() before any call is served, read-only after; destroyed by the destructor.
  std::unique_ptr<grpc_internal::ClusterServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;

  std::mutex stopper_mu_;
  std::thread stopper_;  // runs finishStop() when stop() was called on a transport thread
};

}  // namespace cairn::transport
