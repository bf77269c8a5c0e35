#include "core/health/grpc_prober.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_credentials_options.h>

#include <mutex>

#include "core/base/tsan.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace cairn::health {
namespace {

using grpc::health::v1::Health;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

// Go's status.Error text, which Consul reports: "rpc error: code = Unavailable desc = ...".
std::string codeName(grpc::StatusCode code) {
  static constexpr const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  auto i = static_cast<size_t>(code);
  return i < std::size(kNames) ? kNames[i] : "Code(" + std::to_string(i) + ")";
}

std::shared_ptr<grpc::ChannelCredentials> credentialsFor(const CheckDefinition& d) {
  if (!d.grpc_use_tls) return grpc::InsecureChannelCredentials();
  if (d.tls_skip_verify) {
    grpc::experimental::TlsChannelCredentialsOptions options;
    options.set_verify_server_certs(false);
    options.set_check_call_host(false);
    return grpc::experimental::TlsCredentials(options);
  }
  return grpc::SslCredentials(grpc::SslCredentialsOptions());
}

// One RPC; its address is the completion-queue tag, and it owns itself (self) until the tag is
// delivered.
struct GrpcCall : GrpcCompletion {
  grpc::ClientContext context;
  HealthCheckRequest request;
  HealthCheckResponse response;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<HealthCheckResponse>> reader;
  std::string target;
  ProbeDone done;
  std::shared_ptr<GrpcCall> self;

  void complete(bool) override;
};

class GrpcProber final : public Prober {
 public:
  GrpcProber(grpc::CompletionQueue& cq, const CheckDefinition& d, GrpcTarget target)
      : cq_(cq), def_(d), target_(std::move(target)) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
    if (!d.tls_server_name.empty()) args.SetSslTargetNameOverride(d.tls_server_name);
    channel_ = grpc::CreateCustomChannel(target_.address, credentialsFor(d), args);
    stub_ = Health::NewStub(channel_);
  }

  void start(ProbeDone done) override {
    auto call = std::make_shared<GrpcCall>();
    call->done = std::move(done);
    call->request.set_service(target_.service);
    call->context.set_deadline(std::chrono::system_clock::now() + def_.timeout);
    {
      std::lock_guard lock(mu_);
      current_ = call;
    }
    call->target = def_.grpc;
    call->self = call;
    call->reader = stub_->AsyncCheck(&call->context, call->request, &cq_);
    auto* tag = static_cast<GrpcCompletion*>(call.get());
    tsanRelease(tag);  // the drain thread takes the call from gRPC's queue (core/base/tsan.h)
    call->reader->Finish(&call->response, &call->status, tag);
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    if (auto call = current_.lock()) call->context.TryCancel();
  }

 private:
  friend struct GrpcCall;
  static ProbeResult verdict(const grpc::Status& status, const HealthCheckResponse& response,
                             const std::string& target) {
    if (!status.ok()) {
      return {CheckStatus::kCritical,
              "rpc error: code = " + codeName(status.error_code()) +
                  " desc = " + status.error_message(),
              false};
    }
    if (response.status() == HealthCheckResponse::SERVING) {
      return {CheckStatus::kPassing, "gRPC check " + target + ": success", false};
    }
    return {CheckStatus::kCritical,
            "gRPC " + target +
                " serving status: " + HealthCheckResponse::ServingStatus_Name(response.status()),
            false};
  }

  grpc::CompletionQueue& cq_;
  const CheckDefinition def_;
  const GrpcTarget target_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Health::Stub> stub_;
  std::mutex mu_;
  std::weak_ptr<GrpcCall> current_;
};

void GrpcCall::complete(bool) {
  std::shared_ptr<GrpcCall> keep = std::move(self);
  ProbeDone finish = std::move(done);
  if (finish) finish(GrpcProber::verdict(status, response, target));
}

}  // namespace

StatusOr<std::shared_ptr<Prober>> makeGrpcProber(grpc::CompletionQueue& cq,
                                                 const CheckDefinition& definition) {
  StatusOr<GrpcTarget> target = parseGrpcTarget(definition.grpc);
  if (!target.isOk()) return target.status();
  return std::shared_ptr<Prober>(std::make_shared<GrpcProber>(cq, definition, std::move(*target)));
}

}  // namespace cairn::health
