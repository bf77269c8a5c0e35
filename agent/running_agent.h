#pragma once
// RunningAgent: a started agent (server or client) that the process stops on a signal. Start-up
// is a static start() of each kind, building its parts in order; stop() stops them in reverse.

namespace cairn::agent {

class RunningAgent {
 public:
  virtual ~RunningAgent() = default;
  // Stops serving, in reverse start-up order. Idempotent. Requests still in flight on the I/O
  // pool may reference the agent's parts, so the process leaves without destroying it (see
  // runAgent in agent_server.cc).
  virtual void stop() = 0;
};

}  // namespace cairn::agent
