#pragma once
// ApiContext: what every HTTP handler may use. Built once by the agent's composition root.

#include <cstdint>
#include <memory>
#include <string>

#include "core/base/serial_worker.h"
#include "core/base/timer_queue.h"
#include "core/http/agent_context.h"
#include "core/metrics/metrics.h"
#include "core/node/node.h"
#include "core/storage/storage_health.h"
#include "core/store/state_store.h"
#include "core/store/watch_hub.h"

namespace cairn::http {

// Groups identical blocking queries (read_query.cc): one answer per watch and index.
class FanOut;
std::shared_ptr<FanOut> newFanOut();
class AclResolver;

struct ApiContext {
  node::Node& node;
  store::StateStore& store;
  store::WatchHub& watches;
  TimerQueue& timers;
  SerialWorker& slow_work;  // long jobs (snapshots) that must not hold an HTTP pool thread
  metrics::Metrics& metrics;
  AgentInfo agent;
  // The agent's disk (/v1/agent/self Stats.storage; reads report corruption here). May be null.
  storage::StorageHealth* storage = nullptr;
  std::shared_ptr<FanOut> fan_out = newFanOut();
  // Tokens and what they may do (core/http/acl_resolver.h). Null: ACLs disabled.
  const AclResolver* acl = nullptr;
};

}  // namespace cairn::http
