#include "core/health/async_prober_factory.h"

#include "core/base/logging.h"
#include "core/base/tsan.h"
#include "core/health/grpc_prober.h"
#include "core/health/http_prober.h"
#include "core/health/script_prober.h"
#include "core/health/tcp_prober.h"

namespace cairn::health {

AsyncProberFactory::AsyncProberFactory()
    : work_(boost::asio::make_work_guard(io_)),
      thread_([this] {
        for (;;) {
          try {
            io_.run();
            return;
          } catch (const std::exception& e) {
            LOG_ERROR("health", "probe handler threw: " << e.what());
          }
        }
      }),
      grpc_thread_([this] {
        void* tag = nullptr;
        bool ok = false;
        while (cq_.Next(&tag, &ok)) {
          tsanAcquire(tag);  // handed over through gRPC, which TSan cannot see into
          static_cast<GrpcCompletion*>(tag)->complete(ok);
        }
      }) {}

AsyncProberFactory::~AsyncProberFactory() {
  work_.reset();
  io_.stop();
  thread_.join();
  cq_.Shutdown();  // Next() returns false once every call in flight has completed
  grpc_thread_.join();
}

StatusOr<std::shared_ptr<Prober>> AsyncProberFactory::create(const CheckDefinition& definition) {
  switch (definition.kind()) {
    case CheckKind::kHttp:
      return makeHttpProber(definition);
    case CheckKind::kTcp:
      return makeTcpProber(io_, definition);
    case CheckKind::kGrpc:
      return makeGrpcProber(cq_, definition);
    case CheckKind::kScript:
      return makeScriptProber(io_, definition);
    case CheckKind::kTtl:
    case CheckKind::kNone:
      break;
  }
  return invalidArgument("no prober for a " + std::string(checkKindName(definition.kind())) +
                         " check");
}

}  // namespace cairn::health
