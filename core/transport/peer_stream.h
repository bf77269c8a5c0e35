#pragma once
// PeerStream: the outgoing raft traffic to one peer over one long-lived client stream
// (Cluster.RaftStream). Queue, natural batching, bounds, reconnect backoff: see grpc_transport.h.

#include <google/protobuf/repeated_ptr_field.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/base/clock.h"
#include "core/transport/grpc_internal.h"

namespace cairn::transport::grpc_internal {

class StreamCall;

// Thread-safe. Owned by the transport while the peer is in its address book, and by its current
// StreamCall until that call is done.
class PeerStream : public std::enable_shared_from_this<PeerStream> {
 public:
  PeerStream(uint64_t id, std::string address, std::shared_ptr<Connection> connection,
             std::shared_ptr<Shared> shared);

  const std::string& address() const { return address_; }

  // Queues `messages` (all addressed to this peer; consumed) and starts a write, or a new stream
  // when none is open and the reconnect backoff has passed. Never waits for the network.
  void enqueue(std::vector<raft::Message>& messages);
  // Retires the stream: drops what is queued and cancels the call. Later enqueues drop. Idempotent.
  void close();

 private:
  friend class StreamCall;
  using Queue = google::protobuf::RepeatedPtrField<v1::RaftMessage>;

  // Reactions of a call (on gRPC threads); onWriteDone runs under the call's op_mu.
  void onWriteDone(StreamCall* call, bool ok);
  void onCallDone(StreamCall* call, const grpc::Status& status);

  // Adds one message of `size` bytes to the queue unless a bound is hit. Requires mu_.
  void admitLocked(raft::Message& message, size_t size, uint64_t& full, uint64_t& too_large);
  // Moves the queue into call.batch (which must be empty) and marks a write in flight.
  // Requires mu_.
  void claimWriteLocked(StreamCall& call);
  // Forgets `call` as the current call after it broke: drops the queue, arms the backoff.
  // Returns the number of messages dropped. Requires mu_.
  uint64_t breakLocked(StreamCall& call);
  uint64_t dropQueueLocked();
  // Whether the caller must remove the call's hold (exactly once). Requires mu_.
  static bool takeHoldLocked(StreamCall& call);
  // Starts `call` with its first write claimed. Takes the call's op_mu.
  void startCall(const std::shared_ptr<StreamCall>& call);

  const uint64_t id_;
  const std::string address_;
  const std::shared_ptr<Connection> connection_;
  const std::shared_ptr<Shared> shared_;

  std::mutex mu_;
  Queue queue_;                        // guarded by mu_
  size_t queued_bytes_ = 0;            // guarded by mu_
  std::shared_ptr<StreamCall> call_;   // guarded by mu_; the open stream, if any
  bool closed_ = false;                // guarded by mu_
  bool healthy_ = true;                // guarded by mu_; last stream wrote successfully
  SteadyTime retry_at_{};              // guarded by mu_; no new stream before this
  std::chrono::milliseconds backoff_;  // guarded by mu_; next delay after a failure
};

// One attempt of the stream (a gRPC call). Holds one hold from start until it is detached from
// its PeerStream and no write is in flight, so that writes may start outside reactions.
// Fields marked "owner" are guarded by the owner's mu_.
class StreamCall final : public grpc::ClientWriteReactor<v1::RaftBatch> {
 public:
  StreamCall(std::shared_ptr<PeerStream> owner, const std::string& from_address);

  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  // Held while starting a gRPC operation on this call and through each reaction (so also while
  // gRPC serialises a batch): never contended by design, it makes the order gRPC guarantees
  // between an operation and its reaction visible to ThreadSanitizer, which cannot see gRPC's own
  // synchronisation. Lock order: op_mu, then the owner's mu_.
  std::mutex op_mu;
  grpc::ClientContext context;
  v1::StreamAck ack;
  v1::RaftBatch batch;               // owner; the write in flight (read by gRPC meanwhile)
  bool writing = false;              // owner; a write was claimed and has not completed
  bool detached = false;             // owner; no longer its owner's current call: no more writes
  bool hold_released = false;        // owner
  bool broke = false;                // owner; a write failed (as opposed to close())
  bool log_break = false;            // owner; the first failure after a success: log at info
  std::shared_ptr<StreamCall> self;  // keeps the reactor alive until OnDone

 private:
  std::shared_ptr<PeerStream> owner_;  // released in OnDone
};

}  // namespace cairn::transport::grpc_internal
