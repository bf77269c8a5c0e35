#pragma once
// HttpServer: the HTTP/1.1 edge, on Boost.Beast's parser and Asio (the only file that touches
// sockets is server.cc; the parsing rules are in request_reader.h). Converts requests to
// HttpRequest, dispatches through the Router, records metrics and writes the HttpResponse back.
// Nothing in it knows about the agent: any binary can serve a Router with it.
//
// What a client sees (docs/http.md):
//   - malformed requests (bad framing, bare LF, control bytes in the target): 400 and close;
//     headers over the limit: 431 and close; a body over the route's limit: 413 and close,
//     before more than the limit is read;
//   - keep-alive and pipelining; answers in request order, one request at a time per connection
//     (as Go's net/http serves them);
//   - a new connection must deliver its first header within header_timeout; between requests
//     a keep-alive connection may stay idle for idle_timeout; a request body or a response write
//     that makes no progress for io_timeout closes the connection. A request being handled (a
//     blocking query) has no timeout here;
//   - over max_connections: the connection is accepted, answered 503 and closed.
//   - with `tls` (HTTPS): the TLS handshake must finish within header_timeout; with
//     verify_incoming a client without a certificate signed by the CA fails the handshake.
//     setTls() replaces the certificates for new handshakes (a reload); open connections keep
//     theirs. With an empty cert_pem the server starts without one and closes every connection
//     until setTls() gives it one (a certificate made after start, as the operator's webhook's).
//
// Threading: sockets, timers and handler calls run on an IoPool (its own, or one passed in).
// Handlers are called on a pool thread and must not block it; they may answer from any thread.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/status.h"
#include "core/http/io_pool.h"
#include "core/http/router.h"
#include "core/metrics/metrics.h"

namespace cairn::http {

// HTTPS: PEM contents (read and checked by the caller, core/tls/material.h).
struct HttpTlsOptions {
  std::string ca_pem;  // checks client certificates; required for verify_incoming
  std::string cert_pem;
  std::string key_pem;
  bool verify_incoming = false;         // require a client certificate signed by ca_pem
  std::string min_version = "TLSv1_2";  // Consul's names, TLSv1_0 .. TLSv1_3
};

struct HttpServerOptions {
  IoPool* pool = nullptr;  // null: the server runs its own pool of `threads` threads
  int threads = 0;         // <= 0: one per core, at least 2
  size_t max_header_bytes = 32 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds idle_timeout{120'000};
  std::chrono::milliseconds io_timeout{30'000};
  // Open connections served at once; also capped by the descriptor limit (RLIMIT_NOFILE) minus a
  // reserve for the rest of the process.
  size_t max_connections = 16384;
  // Added to every response, e.g. {"X-Consul-Default-ACL-Policy", "allow"}.
  std::vector<std::pair<std::string, std::string>> response_headers;
  // Serve HTTPS instead of HTTP.
  std::optional<HttpTlsOptions> tls;
};

class HttpServer {
 public:
  HttpServer(const Router& router, metrics::Metrics& metrics, HttpServerOptions options = {});
  ~HttpServer();

  // Listens on address:port (port 0: any free port, see port()). Returns once listening.
  Status start(const std::string& address, int port);
  // Stops accepting and closes every connection. Answers still pending are dropped.
  void stop();
  int port() const;
  // The connection limit in force (max_connections capped by the descriptor limit).
  size_t connectionLimit() const;
  // HTTPS only (before or after start): new handshakes use `tls` from now on. An error (bad
  // PEM) changes nothing.
  Status setTls(const HttpTlsOptions& tls);

  class Impl;  // server.cc only

 private:
  std::unique_ptr<IoPool> own_pool_;  // when options.pool is null
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::http
