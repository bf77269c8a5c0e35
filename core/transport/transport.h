#pragma once
// Transport: how a server talks to the other servers (cairn.v1.Cluster in cluster.proto). The
// node owns the protocol logic; the transport moves bytes. Implementations: GrpcTransport (real
// servers) and the simulator's in-memory network (tests/sim).

#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "cairn/v1/cluster.pb.h"
#include "core/base/status.h"
#include "core/raft/types.h"

namespace cairn::transport {

template <typename T>
using Reply = std::function<void(T)>;
template <typename T>
using Done = std::function<void(StatusOr<T>)>;

// What a server offers its peers. Called on transport threads, concurrently; implementations must
// not block (answer through `reply`, exactly once, from any thread).
class PeerService {
 public:
  virtual ~PeerService() = default;
  // Raft messages from one peer stream, in the order the sender sent them.
  virtual void onRaftMessages(std::vector<raft::Message> messages) = 0;
  virtual void onForward(v1::ForwardRequest request, Reply<v1::ForwardResponse> reply) = 0;
  virtual void onHello(v1::HelloRequest request, Reply<v1::HelloResponse> reply) = 0;
  virtual void onJoin(v1::JoinRequest request, Reply<v1::MembershipResponse> reply) = 0;
  virtual void onLeave(v1::LeaveRequest request, Reply<v1::MembershipResponse> reply) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Serves `service` on `address` ("ip:port"; port 0 picks one). `service` outlives the transport.
  virtual Status start(const std::string& address, PeerService* service) = 0;
  // The address actually bound (after start).
  virtual std::string boundAddress() const = 0;
  // Stops serving and sending; pending calls complete with kUnavailable. Idempotent.
  virtual void stop() = 0;

  // Stamped on outgoing raft batches; incoming batches from another (non-empty) cluster are
  // dropped. Thread-safe.
  virtual void setClusterId(const std::string& cluster_id) = 0;
  // The address book for raft messages (by RaftMessage.to). Thread-safe.
  virtual void setPeer(uint64_t id, const std::string& address) = 0;
  virtual void removePeer(uint64_t id) = 0;

  // Queues raft messages to their destinations and returns at once. Per destination, messages
  // leave in order on one stream; a message to an unknown or unreachable peer is dropped (raft
  // retransmits). Thread-safe.
  virtual void send(std::vector<raft::Message> messages) = 0;

  // Unary calls to the server at `address`. `done` runs once, on a transport thread, with the
  // answer or kUnavailable (unreachable, deadline passed, stopped). Never block the caller.
  using Deadline = std::chrono::milliseconds;
  virtual void forward(const std::string& address, v1::ForwardRequest request, Deadline deadline,
                       Done<v1::ForwardResponse> done) = 0;
  virtual void hello(const std::string& address, v1::HelloRequest request, Deadline deadline,
                     Done<v1::HelloResponse> done) = 0;
  virtual void join(const std::string& address, v1::JoinRequest request, Deadline deadline,
                    Done<v1::MembershipResponse> done) = 0;
  virtual void leave(const std::string& address, v1::LeaveRequest request, Deadline deadline,
                     Done<v1::MembershipResponse> done) = 0;

  // Fault injection for tests: all traffic to and from these RPC addresses is dropped (raft
  // batches and unary calls alike), as if the network between us were cut. Thread-safe.
  virtual void setBlockedPeers(std::set<std::string> addresses) = 0;
};

}  // namespace cairn::transport
