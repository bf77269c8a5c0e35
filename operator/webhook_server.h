#pragma once
// WebhookServer: the HTTPS endpoint the Kubernetes API server calls for admission reviews
// (docs/injection.md). It is the agent's HTTP edge (core/http/server.h: the same strict parser,
// limits and timeouts) serving POST routes over TLS, with a certificate that changes while it runs.
//
// Certificates: setCertificate() installs a new certificate; every handshake after it uses it,
// connections already open keep the one they started with. Until the first certificate is set,
// connections are closed at once (the API server counts that as a failed call, which its
// failurePolicy decides about).
//
// What a client sees: POST to a registered path with a body up to `max_body` → the handler's
// status and JSON; another method 405, another path 404, a bigger body 413, anything that is not
// HTTP 400. Keep-alive is honoured (the API server reuses connections). A TLS handshake that
// does not finish within io_timeout, or a request that makes no progress for as long, closes
// the connection.
//
// Threading: sockets and handlers run on the server's own threads. Handlers must be quick (the
// injector is pure; a namespace lookup may call the API server and is cached by the caller).

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/base/status.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/metrics/metrics.h"
#include "operator/webhook_certs.h"

namespace cairn::op {

struct WebhookResponse {
  int status = 200;
  std::string body;  // JSON
};
using WebhookHandler = std::function<WebhookResponse(const std::string& body)>;

struct WebhookServerOptions {
  int threads = 2;
  size_t max_body = 4 << 20;  // pods with big specs; Kubernetes caps a request at 3 MiB
  std::chrono::milliseconds io_timeout{10'000};
};

class WebhookServer {
 public:
  explicit WebhookServer(WebhookServerOptions options = {});
  ~WebhookServer();
  WebhookServer(const WebhookServer&) = delete;
  WebhookServer& operator=(const WebhookServer&) = delete;

  // Before start(): POST `path` → `handler`.
  void handle(const std::string& path, WebhookHandler handler);
  // Listens on address:port (0: any free port, see port()).
  Status start(const std::string& address, int port);
  void stop();
  int port() const;

  // Serves `pair` from the next handshake on. An unusable certificate or key is an error and
  // leaves the current one in place.
  Status setCertificate(const KeyPair& pair);
  bool hasCertificate() const;
  // Requests answered by a handler, for /metrics.
  uint64_t requests() const { return requests_.load(); }

 private:
  WebhookServerOptions options_;
  metrics::Metrics metrics_;  // the edge's own request counters; /metrics shows requests()
  http::Router router_;
  std::unique_ptr<http::HttpServer> server_;
  std::atomic<bool> has_certificate_{false};
  std::atomic<uint64_t> requests_{0};
};

}  // namespace cairn::op
