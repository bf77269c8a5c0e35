#pragma once
// WebhookServer: the HTTPS endpoint the Kubernetes API server calls for admission reviews
// (docs/injection.md). A small HTTP/1.1 server on Boost.Beast over TLS, separate from
// core/http/HttpServer (which serves plain HTTP): it serves one kind of request, POST of a JSON
// body, and its certificate changes while it runs.
//
// Certificates: setCertificate() installs a new TLS context; every handshake after it uses the
// new certificate, connections already open keep the one they started with. Until the first
// certificate is set, connections are closed at once (the API server counts that as a failed
// call, which its failurePolicy decides about).
//
// What a client sees: POST to a registered path with a body up to `max_body` → the handler's
// status and JSON; another method 405, another path 404, a bigger body 413, anything that is not
// HTTP 400. Keep-alive is honoured (the API server reuses connections). A TLS handshake or a
// request that makes no progress for io_timeout closes the connection.
//
// Threading: sockets and handlers run on the server's own threads. Handlers must be quick (the
// injector is pure; a namespace lookup may call the API server and is cached by the caller).

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/base/status.h"
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
  // Requests answered, for /metrics.
  uint64_t requests() const;

  class Impl;  // webhook_server.cc only

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::op
