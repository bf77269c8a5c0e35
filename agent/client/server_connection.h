#pragma once
// ServerConnection: a client agent's one gRPC channel to one server (cairn.v1.ClientRpc), and the
// move to another server when that one fails (ServerPicker decides which). Calls take a Target
// (the channel's stub and generation) and report its failure; the first report of a generation
// replaces the channel, later ones of the same generation do nothing.
//
// Threading: thread-safe. No method blocks on the network.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/client/server_picker.h"
#include "cairn/v1/agent_rpc.grpc.pb.h"
#include "core/base/clock.h"
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

  // Replaces the known servers (from -retry-join, or the servers' own answer).
  void setServers(const std::vector<std::string>& addresses);
  std::vector<std::string> servers() const;
  // The channel to use now; nullopt while no server is known.
  std::optional<Target> target();
  // `target` failed: move to the next server (once per generation).
  void reportFailure(const Target& target);
  // The hook for membership heartbeats (HeartbeatSenderDeps: `channel`, `on_failure`): the
  // current channel (null while no server is known), and a failure of the call made on
  // `channel` (ignored when the connection already moved on).
  std::shared_ptr<grpc::Channel> channel();
  void reportChannelFailure(const std::shared_ptr<grpc::Channel>& channel);
  // The channel's state; `connect` starts connecting an idle channel.
  static grpc_connectivity_state state(const Target& target, bool connect);

 private:
  void openLocked();  // a channel to picker_.current()

  const Clock& clock_;
  const Options options_;
  mutable std::mutex mu_;
  ServerPicker picker_;
  std::optional<Target> target_;
};

}  // namespace cairn::agent::client
