#pragma once
// GrpcProber: the standard gRPC health protocol (grpc.health.v1.Health/Check) against
// host:port[/service], on gRPC's callback API with a deadline of the check's timeout. Passing when
// the answer is SERVING ("gRPC check <target>: success"), critical otherwise or on any RPC error.
// One channel per check, reused across probes (reconnect backoff capped at 1 s so a restarted
// server is seen at the next probe). Completions run on the thread that drains the completion queue
// (AsyncProberFactory's gRPC thread).

#include <grpcpp/completion_queue.h>

#include <memory>

#include "core/base/status.h"
#include "core/health/prober.h"

namespace cairn::health {

// A completion-queue tag: the drain loop calls complete(ok) once per tag it takes from the queue.
struct GrpcCompletion {
  virtual ~GrpcCompletion() = default;
  virtual void complete(bool ok) = 0;
};

// `definition` must be a normalized gRPC check. `cq` must outlive the prober's calls and be drained
// by one thread that calls GrpcCompletion::complete for every tag.
StatusOr<std::shared_ptr<Prober>> makeGrpcProber(grpc::CompletionQueue& cq,
                                                 const CheckDefinition& definition);

}  // namespace cairn::health
