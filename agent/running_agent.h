#pragma once
// RunningAgent: a started agent (server or client) that the process stops on a signal. Start-up
// is a static start() of each kind, building its parts in order; stop() stops them in reverse.

#include "core/base/status.h"

namespace cairn::agent {

class RunningAgent {
 public:
  virtual ~RunningAgent() = default;
  // Stops serving, in reverse start-up order. Idempotent. Requests still in flight on the I/O
  // pool may reference the agent's parts, so the owner joins the pool's threads after stop() and
  // before destroying the agent (see runAgent in agent_server.cc).
  virtual void stop() = 0;
  // Re-reads the config files (SIGHUP, PUT /v1/agent/reload): the service and check definitions
  // and log_level take effect; other keys need a restart (docs/configuration.md).
  virtual Status reload() { return Status::ok(); }
};

}  // namespace cairn::agent
