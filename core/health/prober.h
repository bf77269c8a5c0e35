#pragma once
// Prober: runs one kind of active check (HTTP, TCP, gRPC, script) asynchronously. A prober is made
// for one normalized CheckDefinition and runs one probe at a time.

#include <functional>
#include <memory>

#include "core/base/status.h"
#include "core/health/check_definition.h"
#include "core/health/check_state.h"

namespace cairn::health {

using ProbeDone = std::function<void(ProbeResult)>;

class Prober {
 public:
  virtual ~Prober() = default;
  // Starts a probe and returns without waiting for the network or a process. `done` is called
  // exactly once with the verdict, on one of the prober implementation's threads (or inline, for an
  // error detected before anything was started), unless cancel() is called first, after which it
  // may or may not be called. The caller starts the next probe only after `done` ran.
  // Destroying the prober while a probe is in flight is safe: the probe's resources stay alive
  // until it finishes.
  virtual void start(ProbeDone done) = 0;
  // Abandons the probe in flight, if any, releasing its resources promptly (closes the socket,
  // cancels the RPC, kills the script's process group). Thread-safe with respect to `done`.
  virtual void cancel() = 0;
};

class ProberFactory {
 public:
  virtual ~ProberFactory() = default;
  // A prober for `definition` (normalized, kind http/tcp/grpc/script). Thread-safe.
  virtual StatusOr<std::shared_ptr<Prober>> create(const CheckDefinition& definition) = 0;
};

}  // namespace cairn::health
