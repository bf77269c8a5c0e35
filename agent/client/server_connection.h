#pragma once
// ServerConnection: a client agent's gRPC channels to the servers (cairn.v1.ClientRpc), the one
// server it talks to now, and the move to another server when that one fails (ServerPicker
// decides which). Calls take a Target (the server's stub and the picker's generation) and report
// its failure; the first report of a generation moves to the next server, later ones of the
// same generation do nothing.
//
// Channels: one per server address, created the first time that address is used and kept for
// as long as the address is a known server. A failover only switches between kept channels;
// a channel to a server that is down reconnects by itself (gRPC's back-off, at most 1 s apart),
// and becoming current again resets that back-off. Creating a channel per failure instead made
// a client whose servers were all down create one every 20 ms, and gRPC 1.51 aborted under
// that churn (docs/agent.md, "Client agents").
//
// Channel teardown: a grpc::Channel destroyed on one of its own callback threads shuts down its
// callback completion queue from inside that queue's callback, which is a double free in gRPC
// 1.51. So the last reference to a channel is never dropped by a call's completion: the
// connection holds a reference to every channel it made, callers' callbacks hold only what
// failureOf() leaves of a Target (no channel), and the channel of an address that left the
// server list is released by releaseRetired() (a thread of the owner's, never a gRPC callback)
// once no call uses it any more, or by the destructor.
//
// Threading: thread-safe. No method blocks on the network.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/client/server_picker.h"
#include "cairn/v1/agent_rpc.grpc.pb.h"
#include "core/base/clock.h"
#include "core/base/status.h"
#include "core/tls/rpc_tls.h"

namespace cairn::agent::client {

class ServerConnection {
 public:
  struct Options {
    Nanos cooldown = std::chrono::seconds(5);  // ServerPicker's
    // HTTP/2 pings find a server that vanished without closing the connection (a partition)
    // while a blocking query is in flight.
    std::chrono::milliseconds keepalive_time{2000};
    std::chrono::milliseconds keepalive_timeout{2000};
    int max_message_bytes = 300 << 20;  // snapshots (256 MiB) plus the envelope
    // A channel still not connected after this long counts as failed.
    std::chrono::milliseconds connect_timeout{2000};
    // Mutual TLS to the servers (docs/security.md, "TLS"); null: plain gRPC.
    std::shared_ptr<tls::RpcTls> tls;
  };
  struct Target {
    std::shared_ptr<v1::ClientRpc::Stub> stub;
    std::shared_ptr<grpc::Channel> channel;
    std::string address;
    uint64_t generation = 0;
  };

  ServerConnection(const Clock& clock, Options options);
  // Releases every channel: calls made on them must have completed.
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  // Replaces the known servers (from -retry-join, or the servers' own answer).
  void setServers(const std::vector<std::string>& addresses);
  // Adds servers to the known ones (PUT /v1/agent/join); the current server stays current.
  void addServers(const std::vector<std::string>& addresses);
  std::vector<std::string> servers() const;
  // The channel to use now; nullopt while no server is known.
  std::optional<Target> target();
  // `target` failed: move to the next server (once per generation).
  void reportFailure(const Target& target);
  // What a call's completion callback should keep of its target to report a failure later: the
  // address and generation, without the channel (see "Channel teardown" above).
  static Target failureOf(const Target& target);
  // The hook for membership heartbeats (HeartbeatSenderDeps: `channel`, `on_failure`): the
  // current channel (null while no server is known), and a failure of the call made on
  // `channel` (ignored when the connection already moved on).
  std::shared_ptr<grpc::Channel> channel();
  void reportChannelFailure(const std::shared_ptr<grpc::Channel>& channel);
  // The channel's state; `connect` starts connecting an idle channel.
  static grpc_connectivity_state state(const Target& target, bool connect);

  // Asks the server at `address` for its leader (ClientRpc.Http, GET /v1/status/leader): `done`
  // gets ok when it answered within `timeout`, else kUnavailable with gRPC's reason. Used by PUT
  // /v1/agent/join. The channel is the one kept for `address` (made if needed; retired at the
  // next setServers() unless the address is then a known server). `done` runs on a gRPC thread.
  void probe(const std::string& address, Nanos timeout, std::function<void(Status)> done);
  // Releases the retired channels no call uses any more. Call it from a thread of the owner's,
  // never from a gRPC callback. Returns how many channels are still kept (known and retired).
  size_t releaseRetired();
  // Channels created so far (tests: failovers reuse them).
  uint64_t channelsCreated() const;

 private:
  struct Kept {
    std::shared_ptr<grpc::Channel> channel;
    std::shared_ptr<v1::ClientRpc::Stub> stub;
  };
  const Kept& keptLocked(const std::string& address);  // made on first use
  void retireUnknownLocked();  // moves channels of addresses no longer known to retired_
  void pickLocked();           // target_ from picker_.current()

  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  ServerPicker picker_;
  std::optional<Target> target_;
  std::map<std::string, Kept> kept_;
  std::vector<Kept> retired_;
  uint64_t created_ = 0;
};

}  // namespace cairn::agent::client
