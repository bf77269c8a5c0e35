#pragma once
// HttpServer: the cpprestsdk edge. Converts requests to HttpRequest (decoded path, parsed query,
// body within the route's limit), dispatches through the Router, records metrics, and writes the
// HttpResponse back. No exception crosses into our handlers or out of this file.

#include <memory>
#include <string>

#include "core/base/status.h"
#include "core/http/router.h"
#include "core/metrics/metrics.h"

namespace cairn::http {

class HttpServer {
 public:
  HttpServer(const Router& router, metrics::Metrics& metrics);
  ~HttpServer();

  // Listens on http://<address>:<port>/. Returns once listening.
  Status start(const std::string& address, int port);
  void stop();

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::http
