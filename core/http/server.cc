#include "core/http/server.h"

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_listener.h>

#include <algorithm>
#include <chrono>

#include "core/base/logging.h"
#include "core/http/http_types.h"

namespace cairn::http {
namespace {

using web::http::http_request;
using web::http::http_response;

bool hasNonPrintable(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; });
}

std::string tooLargeText(uint64_t size, size_t max) {
  return "Request body(" + std::to_string(size) + " bytes) too large, max size: " +
         std::to_string(max) + " bytes";
}

void send(http_request& req, const HttpResponse& r) {
  http_response resp(static_cast<web::http::status_code>(r.status));
  resp.set_body(std::vector<unsigned char>(r.body.begin(), r.body.end()));
  resp.headers().set_content_type(r.content_type);
  resp.headers().add("X-Consul-Default-ACL-Policy", "allow");
  for (const auto& [name, value] : r.headers) resp.headers().add(name, value);
  req.reply(resp).then([](pplx::task<void> t) {
    try {
      t.get();
    } catch (const std::exception& e) {
      LOG_DEBUG("http", "reply failed: " << e.what());
    }
  });
}

}  // namespace

class HttpServer::Impl {
 public:
  Impl(const Router& router, metrics::Metrics& metrics) : router_(router), metrics_(metrics) {}

  Status start(const std::string& address, int port) {
    try {
      web::http::experimental::listener::http_listener_config config;
      config.set_timeout(std::chrono::seconds(660));  // Longer than the longest blocking query.
      std::string url = "http://" + address + ":" + std::to_string(port) + "/";
      listener_ = std::make_unique<web::http::experimental::listener::http_listener>(url, config);
      listener_->support([this](http_request req) { handle(std::move(req)); });
      // cpprestsdk answers OPTIONS itself unless a handler is registered for it by name.
      listener_->support(web::http::methods::OPTIONS,
                         [this](http_request req) { handle(std::move(req)); });
      listener_->open().wait();
      return Status::ok();
    } catch (const std::exception& e) {
      return internalError("HTTP listener on " + address + ":" + std::to_string(port) + ": " +
                           e.what());
    }
  }

  void stop() {
    if (!listener_) return;
    try {
      listener_->close().wait();
    } catch (const std::exception& e) {
      LOG_WARN("http", "closing the listener: " << e.what());
    }
    listener_.reset();
  }

 private:
  Responder responderFor(http_request req, std::string route, std::string method) {
    auto start = std::chrono::steady_clock::now();
    return Responder([this, req, route = std::move(route), method = std::move(method),
                      start](HttpResponse r) mutable {
      send(req, r);
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      metrics_.observeHttpRequest(route, method, r.status, secs);
    });
  }

  void handle(http_request req) {
    try {
      auto request = std::make_shared<HttpRequest>();
      request->method = req.method();
      std::string raw_path = req.request_uri().path();
      auto path = percentDecode(raw_path, false);
      const Route* route = path ? router_.match(*path) : nullptr;
      request->route = route ? route->pattern : "unmatched";
      Responder respond = responderFor(req, request->route, request->method);
      if (!path || hasNonPrintable(*path)) {
        return respond(textResponse(400, "Invalid URL path: contains invalid or non-printable characters"));
      }
      request->path = std::move(*path);
      request->raw_query = req.request_uri().query();
      request->query = QueryParams::parse(request->raw_query);
      for (const auto& [name, value] : req.headers()) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        request->headers[lower] = value;
      }
      size_t max_body = route ? route->max_body : Router::kDefaultMaxBody;
      uint64_t declared = req.headers().content_length();
      if (declared > max_body) return respond(textResponse(413, tooLargeText(declared, max_body)));
      req.extract_vector().then([this, request, route, respond, max_body](
                                    pplx::task<std::vector<unsigned char>> body) {
        withBody(std::move(body), request, route, respond, max_body);
      });
    } catch (const std::exception& e) {
      send(req, textResponse(400, std::string("Bad request: ") + e.what()));
    }
  }

  void withBody(pplx::task<std::vector<unsigned char>> body, std::shared_ptr<HttpRequest> request,
                const Route* route, Responder respond, size_t max_body) {
    try {
      std::vector<unsigned char> bytes = body.get();
      if (bytes.size() > max_body) return respond(textResponse(413, tooLargeText(bytes.size(), max_body)));
      request->body.assign(bytes.begin(), bytes.end());
      router_.dispatch(route, std::move(request), respond);
    } catch (const std::exception& e) {
      respond(textResponse(400, std::string("Failed to read the request body: ") + e.what()));
    }
  }

  const Router& router_;
  metrics::Metrics& metrics_;
  std::unique_ptr<web::http::experimental::listener::http_listener> listener_;
};

HttpServer::HttpServer(const Router& router, metrics::Metrics& metrics)
    : impl_(std::make_unique<Impl>(router, metrics)) {}

HttpServer::~HttpServer() { impl_->stop(); }

Status HttpServer::start(const std::string& address, int port) { return impl_->start(address, port); }

void HttpServer::stop() { impl_->stop(); }

}  // namespace cairn::http
