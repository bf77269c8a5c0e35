#pragma once
// AsyncProberFactory: the production ProberFactory. Owns one Boost.Asio io_context and the one
// thread that runs it (TCP probes, script pipes and exits), plus one gRPC completion queue and the
// thread that drains it (gRPC probes). HTTP probes run on cpprestsdk's thread pool. No thread is
// created per check or per probe.

#include <grpcpp/completion_queue.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <thread>

#include "core/health/prober.h"

namespace cairn::health {

class AsyncProberFactory final : public ProberFactory {
 public:
  AsyncProberFactory();
  // Stops the io thread; probes still in flight on it are dropped (their scripts killed and reaped)
  // without calling `done`. Destroy the CheckRunner first.
  ~AsyncProberFactory() override;
  AsyncProberFactory(const AsyncProberFactory&) = delete;
  AsyncProberFactory& operator=(const AsyncProberFactory&) = delete;

  StatusOr<std::shared_ptr<Prober>> create(const CheckDefinition& definition) override;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  grpc::CompletionQueue cq_;
  std::thread grpc_thread_;
};

}  // namespace cairn::health
