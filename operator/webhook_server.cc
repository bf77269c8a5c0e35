#include "operator/webhook_server.h"

#include <algorithm>
#include <utility>

namespace cairn::op {
namespace {

http::HttpServerOptions edgeOptions(const WebhookServerOptions& o) {
  http::HttpServerOptions e;
  e.threads = std::max(1, o.threads);
  e.max_header_bytes = 16 * 1024;
  e.header_timeout = o.io_timeout;  // also bounds the TLS handshake
  e.io_timeout = o.io_timeout;
  e.tls = http::HttpTlsOptions{};  // HTTPS; no certificate until setCertificate()
  e.tls->min_version = "TLSv1_2";  // what API servers speak
  return e;
}

}  // namespace

WebhookServer::WebhookServer(WebhookServerOptions options)
    : options_(options),
      metrics_("operator", "webhook"),
      server_(std::make_unique<http::HttpServer>(router_, metrics_, edgeOptions(options_))) {}

WebhookServer::~WebhookServer() { stop(); }

void WebhookServer::handle(const std::string& path, WebhookHandler handler) {
  http::Route route;
  route.pattern = path;
  route.methods = {"POST"};
  route.max_body = options_.max_body;
  route.handler = [this, handler = std::move(handler)](http::RequestPtr req,
                                                       http::Responder respond) {
    requests_++;
    WebhookResponse r = handler(req->body);
    respond(http::jsonResponse(std::move(r.body), r.status));
  };
  router_.add(std::move(route));
}

Status WebhookServer::start(const std::string& address, int port) {
  Status s = server_->start(address, port);
  return s.isOk() ? s : Status(s.code(), "webhook: " + s.message());
}

void WebhookServer::stop() { server_->stop(); }

int WebhookServer::port() const { return server_->port(); }

Status WebhookServer::setCertificate(const KeyPair& pair) {
  http::HttpTlsOptions tls = *edgeOptions(options_).tls;
  tls.cert_pem = pair.cert_pem;
  tls.key_pem = pair.key_pem;
  if (Status s = server_->setTls(tls); !s.isOk()) {
    return invalidArgument("webhook certificate: " + s.message());
  }
  has_certificate_ = true;
  return Status::ok();
}

bool WebhookServer::hasCertificate() const { return has_certificate_.load(); }

}  // namespace cairn::op
