#pragma once
// What both sides of cairn.v1.Membership need for one asynchronous unary call: the buffers that
// must live until gRPC's completion callback (which holds the shared_ptr), and a deadline.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>

#include "cairn/v1/membership.grpc.pb.h"

namespace cairn::membership {

template <typename Req, typename Resp>
struct UnaryCall {
  grpc::ClientContext context;
  std::shared_ptr<v1::Membership::Stub> stub;
  Req request;
  Resp response;
};

inline std::chrono::system_clock::time_point deadlineIn(std::chrono::milliseconds d) {
  return std::chrono::system_clock::now() + d;
}

}  // namespace cairn::membership
