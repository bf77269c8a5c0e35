#pragma once
// ServerHealthMonitor: the leader's failure detector for the servers' serfHealth checks (Cairn has
// no gossip layer; Raft contact stands in for it). Every `period` the leader marks the
// serfHealth check of a server it has not heard from for `fail_after` critical ("Agent not live
// or unreachable"), which drops the server's services from DNS and ?passing and invalidates
// sessions bound to that check, and marks it passing again once the server is heard from.
// Followers do nothing. Changes go through the log like any catalog write.
//
// Every server also keeps its own `consul` service registered (ID and name "consul", port = its
// server RPC port, Consul's meta), once its local agent has registered the node: that is what
// /v1/catalog/service/consul, /v1/health/service/consul and consul.service.consul list. The local
// agent's anti-entropy leaves that service alone (local::kConsulServiceId).

#include <chrono>
#include <memory>
#include <string>

#include "core/base/timer_queue.h"
#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::agent {

class ServerHealthMonitor {
 public:
  struct Options {
    std::chrono::milliseconds period{2000};
    std::chrono::milliseconds fail_after{10000};
    // This server, for its `consul` service (no service when node_name is empty).
    std::string node_name;
    int server_port = 8300;
    std::string version;
  };

  // Every reference outlives the monitor (stop() before destroying them).
  ServerHealthMonitor(node::Node& node, const store::StateStore& store, TimerQueue& timers,
                      Options options);
  ~ServerHealthMonitor();

  void start();
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cairn::agent
