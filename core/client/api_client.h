#pragma once
// ApiClient: a synchronous client of one agent's Consul HTTP API (cpprestsdk), shared by the
// `cairn` CLI, the sidecar and the operator. Adds ?dc= and X-Consul-Token to every request and
// turns transport failures into errors worded as Go's api client words them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/status.h"

namespace web::http::client {
class http_client_config;
}

namespace cairn::client {

// Looks up an environment variable; unset and empty are both nullopt.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvLookup processEnv();

struct HttpOptions {
  std::string http_addr;
  std::string token;
  std::string datacenter;
  bool stale = false;
  // HTTPS (docs/security.md, "TLS"): the CA that signed the agent's certificate, and a client
  // certificate for agents with verify_incoming. Empty: $CAIRN_CACERT / $CONSUL_CACERT,
  // $CAIRN_CLIENT_CERT / $CONSUL_CLIENT_CERT, $CAIRN_CLIENT_KEY / $CONSUL_CLIENT_KEY.
  std::string ca_file;
  std::string client_cert;
  std::string client_key;
};
// The resolved TLS files of a client (see HttpOptions), checked readable; verify false when
// $CONSUL_HTTP_SSL_VERIFY (or $CAIRN_HTTP_SSL_VERIFY) is false.
struct ClientTls {
  std::string ca_file;
  std::string client_cert;
  std::string client_key;
  bool verify = true;
};
StatusOr<ClientTls> resolveClientTls(const HttpOptions& options, const EnvLookup& env);
// The agent's base URL ("http://127.0.0.1:8500"): the flag, else $CAIRN_HTTP_ADDR, else
// $CONSUL_HTTP_ADDR, else 127.0.0.1:8500. Accepts host:port, http://host:port, https://host:port;
// host:port is https when $CAIRN_HTTP_SSL or $CONSUL_HTTP_SSL is true.
StatusOr<std::string> resolveHttpAddr(const std::string& flag_value, const EnvLookup& env);
// The ACL token: the flag, else $CAIRN_HTTP_TOKEN, else $CONSUL_HTTP_TOKEN, else none.
std::string resolveToken(const std::string& flag_value, const EnvLookup& env);

// Percent-encodes every byte except RFC 3986 unreserved characters (and '/' in paths).
std::string escapePath(std::string_view path);
std::string escapeQueryValue(std::string_view value);

struct HttpResponse {
  int status = 0;
  std::string body;
  uint64_t index = 0;  // X-Consul-Index, 0 when absent or malformed
};
// Query parameters in order; an empty value is sent as "name=" (presence flags).
using Query = std::vector<std::pair<std::string, std::string>>;

// Cancels the in-flight and future requests of the clients it was given to (they fail as
// transport errors, at once). Copies share one state. Thread-safe.
class Cancellation {
 public:
  Cancellation();
  void cancel();

 private:
  friend class ApiClient;
  struct State;
  std::shared_ptr<State> state_;
};

// A synchronous client for one agent.
class ApiClient {
 public:
  static StatusOr<ApiClient> create(const HttpOptions& options, const EnvLookup& env);

  // `path` is raw (escaped here). `read` adds ?stale when -stale was given. Transport failures
  // are errors ("Get \"<url>\": <reason>"); any HTTP status is a response.
  StatusOr<HttpResponse> send(const std::string& method, const std::string& path, Query query,
                              const std::string& body = "", bool read = false) const;
  // A GET whose body arrives over time (GET /v1/agent/monitor): once the head is in, every piece
  // of the body goes to `on_data` as it arrives, until the server ends it, `on_data` returns
  // false, or the cancellation fires (then the answer is an error). A status other than 200 is
  // returned with its whole body and nothing given to `on_data`. The client's timeout bounds the
  // wait for the head and for each piece, so give it a long one (withTimeout).
  StatusOr<HttpResponse> stream(const std::string& path, Query query,
                                const std::function<bool(std::string_view piece)>& on_data) const;
  const std::string& baseUrl() const { return base_url_; }
  // A copy whose requests fail (as transport errors) when no answer came within `timeout`
  // (default 60 s). Blocking reads need a timeout above their wait time.
  ApiClient withTimeout(std::chrono::milliseconds timeout) const {
    ApiClient copy = *this;
    copy.timeout_ = timeout;
    return copy;
  }
  // A copy whose requests `cancellation` can cut short.
  ApiClient withCancellation(const Cancellation& cancellation) const {
    ApiClient copy = *this;
    copy.cancellation_ = cancellation;
    return copy;
  }

 private:
  web::http::client::http_client_config clientConfig() const;
  ApiClient(std::string base_url, std::string token, std::string datacenter, bool stale,
            ClientTls tls)
      : base_url_(std::move(base_url)),
        token_(std::move(token)),
        datacenter_(std::move(datacenter)),
        stale_(stale),
        tls_(std::move(tls)) {}
  std::string base_url_;
  std::string token_;
  std::string datacenter_;
  bool stale_;
  ClientTls tls_;
  std::chrono::milliseconds timeout_{60'000};
  std::optional<Cancellation> cancellation_;
};

// The Go api client's error for a status it does not handle:
// "Unexpected response code: 500 (No cluster leader)".
Status unexpectedResponse(const HttpResponse& response);

}  // namespace cairn::client
