#define _TURN_OFF_PLATFORM_STRING
#include "core/client/api_client.h"

#include <cpprest/http_client.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "core/base/go_encoding.h"

namespace cairn::client {
namespace {

constexpr char kDefaultAddr[] = "127.0.0.1:8500";

bool unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

std::string escape(std::string_view in, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size());
  for (unsigned char c : in) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<std::string> firstEnv(const EnvLookup& env,
                                    std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (auto v = env(name); v && !v->empty()) return v;
  }
  return std::nullopt;
}

// "Put" for PUT, as Go's url.Error names the operation.
std::string goMethodName(const std::string& method) {
  std::string name = method;
  for (size_t i = 1; i < name.size(); ++i) {
    name[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
  }
  return name;
}

std::string pathAndQuery(const std::string& path, const Query& query) {
  std::string out = escapePath(path);
  char sep = '?';
  for (const auto& [name, value] : query) {
    out += sep + escapeQueryValue(name) + "=" + escapeQueryValue(value);
    sep = '&';
  }
  return out;
}

}  // namespace

EnvLookup processEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

StatusOr<std::string> resolveHttpAddr(const std::string& flag_value, const EnvLookup& env) {
  std::string addr = flag_value;
  if (addr.empty()) addr = firstEnv(env, {"CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR"}).value_or("");
  if (addr.empty()) addr = kDefaultAddr;
  const std::string given = addr;
  std::string scheme = "http";
  bool ssl = false;
  if (auto v = firstEnv(env, {"CAIRN_HTTP_SSL", "CONSUL_HTTP_SSL"}); v && parseGoBool(*v, &ssl)) {
    if (ssl) scheme = "https";
  }
  size_t scheme_end = addr.find("://");
  if (scheme_end != std::string::npos) {
    scheme = addr.substr(0, scheme_end);
    if (scheme != "http" && scheme != "https") {
      return invalidArgument("invalid HTTP address " + goQuote(given) + ": scheme " +
                             goQuote(scheme) + " is not supported (use http or https)");
    }
    addr.erase(0, scheme_end + 3);
  }
  while (!addr.empty() && addr.back() == '/') addr.pop_back();
  if (addr.empty() || addr.front() == ':' || addr.find_first_of("/?# ") != std::string::npos) {
    return invalidArgument("invalid HTTP address " + goQuote(given) + ": expected host:port");
  }
  addr = scheme + "://" + addr;
  return addr;
}

std::string resolveToken(const std::string& flag_value, const EnvLookup& env) {
  if (!flag_value.empty()) return flag_value;
  return firstEnv(env, {"CAIRN_HTTP_TOKEN", "CONSUL_HTTP_TOKEN"}).value_or("");
}

std::string escapePath(std::string_view path) { return escape(path, true); }
std::string escapeQueryValue(std::string_view value) { return escape(value, false); }

struct Cancellation::State {
  pplx::cancellation_token_source source;
};

Cancellation::Cancellation() : state_(std::make_shared<State>()) {}

void Cancellation::cancel() { state_->source.cancel(); }

StatusOr<ClientTls> resolveClientTls(const HttpOptions& options, const EnvLookup& env) {
  ClientTls tls;
  auto pick = [&](const std::string& flag, std::initializer_list<const char*> names) {
    return flag.empty() ? firstEnv(env, names).value_or("") : flag;
  };
  tls.ca_file = pick(options.ca_file, {"CAIRN_CACERT", "CONSUL_CACERT"});
  tls.client_cert = pick(options.client_cert, {"CAIRN_CLIENT_CERT", "CONSUL_CLIENT_CERT"});
  tls.client_key = pick(options.client_key, {"CAIRN_CLIENT_KEY", "CONSUL_CLIENT_KEY"});
  if (auto v = firstEnv(env, {"CAIRN_HTTP_SSL_VERIFY", "CONSUL_HTTP_SSL_VERIFY"})) {
    bool verify = true;
    if (parseGoBool(*v, &verify)) tls.verify = verify;
  }
  if (tls.client_cert.empty() != tls.client_key.empty()) {
    return invalidArgument(
        "a client certificate needs its key: give both -client-cert and "
        "-client-key");
  }
  for (const std::string* f : {&tls.ca_file, &tls.client_cert, &tls.client_key}) {
    if (!f->empty() && ::access(f->c_str(), R_OK) != 0) {
      return invalidArgument("cannot read " + *f + ": " + std::strerror(errno));
    }
  }
  return tls;
}

StatusOr<ApiClient> ApiClient::create(const HttpOptions& options, const EnvLookup& env) {
  auto base = resolveHttpAddr(options.http_addr, env);
  if (!base.isOk()) return base.status();
  auto tls = resolveClientTls(options, env);
  if (!tls.isOk()) return tls.status();
  return ApiClient(*base, resolveToken(options.token, env), options.datacenter, options.stale,
                   std::move(*tls));
}

web::http::client::http_client_config ApiClient::clientConfig() const {
  web::http::client::http_client_config config;
  config.set_timeout(timeout_);
  if (base_url_.starts_with("https://")) {
    config.set_validate_certificates(tls_.verify);
    config.set_ssl_context_callback([tls = tls_](boost::asio::ssl::context& ctx) {
      if (!tls.ca_file.empty()) ctx.load_verify_file(tls.ca_file);
      if (!tls.client_cert.empty()) {
        ctx.use_certificate_chain_file(tls.client_cert);
        ctx.use_private_key_file(tls.client_key, boost::asio::ssl::context::pem);
      }
    });
  }
  return config;
}

StatusOr<HttpResponse> ApiClient::send(const std::string& method, const std::string& path,
                                       Query query, const std::string& body, bool read) const {
  if (!datacenter_.empty()) query.emplace_back("dc", datacenter_);
  if (read && stale_) query.emplace_back("stale", "");
  std::string target = pathAndQuery(path, query);
  try {
    web::http::client::http_client client(web::uri(base_url_), clientConfig());
    web::http::http_request request(method);
    request.set_request_uri(web::uri(target));
    if (!token_.empty()) request.headers().add("X-Consul-Token", token_);
    if (method == "PUT" || !body.empty()) {
      request.set_body(std::vector<unsigned char>(body.begin(), body.end()));
    }
    auto token = cancellation_ ? cancellation_->state_->source.get_token()
                               : pplx::cancellation_token::none();
    web::http::http_response response = client.request(request, token).get();
    std::vector<unsigned char> bytes = response.extract_vector().get();
    HttpResponse out{response.status_code(), std::string(bytes.begin(), bytes.end())};
    if (auto it = response.headers().find("X-Consul-Index"); it != response.headers().end()) {
      out.index = std::strtoull(it->second.c_str(), nullptr, 10);
    }
    return out;
  } catch (const std::exception& e) {
    return unavailable(goMethodName(method) + " " + goQuote(base_url_ + target) + ": " + e.what());
  }
}

StatusOr<HttpResponse> ApiClient::stream(
    const std::string& path, Query query,
    const std::function<bool(std::string_view piece)>& on_data) const {
  if (!datacenter_.empty()) query.emplace_back("dc", datacenter_);
  std::string target = pathAndQuery(path, query);
  try {
    web::http::client::http_client client(web::uri(base_url_), clientConfig());
    web::http::http_request request("GET");
    request.set_request_uri(web::uri(target));
    if (!token_.empty()) request.headers().add("X-Consul-Token", token_);
    auto token = cancellation_ ? cancellation_->state_->source.get_token()
                               : pplx::cancellation_token::none();
    web::http::http_response response = client.request(request, token).get();
    HttpResponse out{response.status_code(), ""};
    if (out.status != 200) {
      std::vector<unsigned char> bytes = response.extract_vector().get();
      out.body.assign(bytes.begin(), bytes.end());
      return out;
    }
    // Wait for one byte, then take whatever else has arrived: a read of a fixed size would wait
    // for that many bytes, and a quiet log may send one line a minute.
    auto body = response.body().streambuf();
    std::string piece;
    for (;;) {
      auto c = body.bumpc().get();
      if (c == decltype(body)::traits::eof()) break;
      piece.assign(1, static_cast<char>(c));
      size_t more = body.in_avail();
      if (more > 0) {
        std::vector<uint8_t> rest(more);
        size_t n = body.getn(rest.data(), more).get();
        piece.append(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(n));
      }
      if (!on_data(piece)) break;
    }
    return out;
  } catch (const std::exception& e) {
    return unavailable("Get " + goQuote(base_url_ + target) + ": " + e.what());
  }
}

Status unexpectedResponse(const HttpResponse& r) {
  return internalError("Unexpected response code: " + std::to_string(r.status) + " (" + r.body +
                       ")");
}

}  // namespace cairn::client
