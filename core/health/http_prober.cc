#define _TURN_OFF_PLATFORM_STRING
#include "core/health/http_prober.h"

#include <cpprest/http_client.h>
#include <openssl/ssl.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <mutex>

namespace cairn::health {
namespace {

namespace http = web::http;
namespace client = web::http::client;

constexpr int kMaxRedirects = 10;

bool isRedirect(http::status_code code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

CheckStatus classify(http::status_code code) {
  if (code >= 200 && code <= 299) return CheckStatus::kPassing;
  if (code == 429) return CheckStatus::kWarning;
  return CheckStatus::kCritical;
}

client::http_client_config configFor(const CheckDefinition& d) {
  client::http_client_config config;
  config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(d.timeout));
  config.set_validate_certificates(!d.tls_skip_verify);
  config.set_max_redirects(0);  // followed by us, so disable_redirects means the same everywhere
  if (!d.tls_server_name.empty()) {
    std::string name = d.tls_server_name;
    config.set_nativehandle_options([name](client::native_handle handle) {
      // For https the handle is the SSL stream (cpprestsdk's documented contract); set SNI.
      using SslStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;
      auto* stream = static_cast<SslStream*>(handle);
      if (stream != nullptr) SSL_set_tlsext_host_name(stream->native_handle(), name.c_str());
    });
  }
  return config;
}

// One probe: the request, the redirects it follows, and the body it drains.
class HttpAttempt : public std::enable_shared_from_this<HttpAttempt> {
 public:
  HttpAttempt(std::shared_ptr<const CheckDefinition> def, client::http_client_config config,
              ProbeDone done)
      : def_(std::move(def)),
        config_(std::move(config)),
        done_(std::move(done)),
        ring_(def_->output_max_size) {}

  void send(const std::string& url, const std::string& method, bool with_body, int redirects);
  void cancel() { cts_.cancel(); }

 private:
  http::http_request buildRequest(const std::string& method, bool with_body) const;
  void onResponse(pplx::task<http::http_response> task, const std::string& url,
                  const std::string& method, bool with_body, int redirects);
  pplx::task<void> drain(concurrency::streams::istream body);
  void finish(CheckStatus status, std::string output);
  void fail(const std::string& method, const std::string& url, const std::string& error) {
    finish(CheckStatus::kCritical, method + " \"" + url + "\": " + error);
  }

  const std::shared_ptr<const CheckDefinition> def_;
  const client::http_client_config config_;
  ProbeDone done_;
  pplx::cancellation_token_source cts_;
  std::atomic<bool> finished_{false};
  OutputRing ring_;  // touched by one continuation at a time
};

http::http_request HttpAttempt::buildRequest(const std::string& method, bool with_body) const {
  http::http_request req(method);
  if (with_body && !def_->body.empty()) {
    req.set_body(def_->body, "");
    req.headers().remove(http::header_names::content_type);
  }
  for (const auto& [name, values] : def_->header) {
    for (const auto& value : values) req.headers().add(name, value);
  }
  if (!req.headers().has(http::header_names::user_agent)) {
    req.headers().add(http::header_names::user_agent, "Consul Health Check");
  }
  if (!req.headers().has(http::header_names::accept)) {
    req.headers().add(http::header_names::accept, "text/plain, text/*, */*");
  }
  req.headers().add(http::header_names::connection, "close");  // keep-alive off, as Consul
  return req;
}

void HttpAttempt::send(const std::string& url, const std::string& method, bool with_body,
                       int redirects) {
  try {
    auto http_client = std::make_shared<client::http_client>(url, config_);
    auto self = shared_from_this();
    http_client->request(buildRequest(method, with_body), cts_.get_token())
        .then([self, http_client, url, method, with_body,
               redirects](pplx::task<http::http_response> task) {
          self->onResponse(std::move(task), url, method, with_body, redirects);
        });
  } catch (const std::exception& e) {
    fail(method, url, e.what());
  }
}

void HttpAttempt::onResponse(pplx::task<http::http_response> task, const std::string& url,
                             const std::string& method, bool with_body, int redirects) {
  http::http_response resp;
  try {
    resp = task.get();
  } catch (const std::exception& e) {
    fail(method, url, e.what());
    return;
  }
  if (isRedirect(resp.status_code()) && !def_->disable_redirects &&
      resp.headers().has(http::header_names::location)) {
    if (redirects >= kMaxRedirects) {
      fail(method, def_->http, "stopped after 10 redirects");
      return;
    }
    std::string next;
    try {
      next = web::uri(url).resolve_uri(resp.headers()[http::header_names::location]);
    } catch (const std::exception& e) {
      fail(method, url, std::string("bad redirect location: ") + e.what());
      return;
    }
    bool keep = resp.status_code() == 307 || resp.status_code() == 308;
    send(next, keep ? method : (method == "HEAD" ? method : "GET"), keep && with_body,
         redirects + 1);
    return;
  }
  auto self = shared_from_this();
  drain(resp.body()).then([self, resp](pplx::task<void> read) {
    try {
      read.get();
    } catch (const std::exception&) {
      // A body cut short still reports the status line and what arrived, as Consul does.
    }
    std::string output = "HTTP " + self->def_->method + " " + self->def_->http + ": " +
                         std::to_string(resp.status_code()) + " " + resp.reason_phrase() +
                         " Output: " + self->ring_.tail();
    self->finish(classify(resp.status_code()), std::move(output));
  });
}

pplx::task<void> HttpAttempt::drain(concurrency::streams::istream body) {
  auto chunk = std::make_shared<std::array<uint8_t, 16 * 1024>>();
  auto self = shared_from_this();
  return body.streambuf()
      .getn(chunk->data(), chunk->size())
      .then([self, body, chunk](size_t n) -> pplx::task<void> {
        if (n == 0) return pplx::task_from_result();
        self->ring_.append(std::string_view(reinterpret_cast<const char*>(chunk->data()), n));
        return self->drain(body);
      });
}

void HttpAttempt::finish(CheckStatus status, std::string output) {
  if (finished_.exchange(true)) return;
  ProbeDone done = std::move(done_);
  done(ProbeResult{status, std::move(output), false});
}

class HttpProber final : public Prober {
 public:
  explicit HttpProber(const CheckDefinition& d)
      : def_(std::make_shared<const CheckDefinition>(d)), config_(configFor(d)) {}

  void start(ProbeDone done) override {
    auto attempt = std::make_shared<HttpAttempt>(def_, config_, std::move(done));
    {
      std::lock_guard lock(mu_);
      current_ = attempt;
    }
    attempt->send(def_->http, def_->method, true, 0);
  }

  void cancel() override {
    std::shared_ptr<HttpAttempt> attempt;
    {
      std::lock_guard lock(mu_);
      attempt = current_.lock();
    }
    if (attempt) attempt->cancel();
  }

 private:
  const std::shared_ptr<const CheckDefinition> def_;
  const client::http_client_config config_;
  std::mutex mu_;
  std::weak_ptr<HttpAttempt> current_;
};

}  // namespace

StatusOr<std::shared_ptr<Prober>> makeHttpProber(const CheckDefinition& definition) {
  try {
    web::uri parsed(definition.http);
    if (parsed.host().empty()) return invalidArgument("HTTP check URL has no host");
  } catch (const std::exception& e) {
    return invalidArgument("Invalid HTTP check URL \"" + definition.http + "\": " + e.what());
  }
  return std::shared_ptr<Prober>(std::make_shared<HttpProber>(definition));
}

}  // namespace cairn::health
