#include "agent/cli/api_client.h"

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/http_client.h>

#include <cstdlib>

namespace cairn::agent::cli {

void ApiOptions::define(FlagSet& flags) {
  flags.stringFlag("http-addr", &http_addr);
  flags.stringFlag("token", &token);
  flags.stringFlag("datacenter", &datacenter);
  flags.boolFlag("stale", &stale);
}

std::string resolveHttpAddr(const std::string& flag_value) {
  std::string addr = flag_value;
  for (const char* env : {"CAIRN_HTTP_ADDR", "CONSUL_HTTP_ADDR"}) {
    if (!addr.empty()) break;
    if (const char* v = std::getenv(env)) addr = v;
  }
  if (addr.empty()) addr = "127.0.0.1:8500";
  if (addr.find("://") == std::string::npos) addr = "http://" + addr;
  return addr;
}

std::string encodeKeyPath(const std::string& key) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

ApiClient::ApiClient(const ApiOptions& options)
    : options_(options), base_(resolveHttpAddr(options.http_addr)) {
  if (options_.token.empty()) {
    if (const char* t = std::getenv("CONSUL_HTTP_TOKEN")) options_.token = t;
  }
}

StatusOr<ApiResponse> ApiClient::request(const std::string& method, std::string path_and_query,
                                         const std::string& body) const {
  char sep = path_and_query.find('?') == std::string::npos ? '?' : '&';
  if (!options_.datacenter.empty()) {
    path_and_query += sep + std::string("dc=") + encodeKeyPath(options_.datacenter);
    sep = '&';
  }
  if (options_.stale) path_and_query += sep + std::string("stale");
  try {
    web::http::client::http_client client(base_);
    web::http::http_request req(method);
    req.set_request_uri(path_and_query);
    if (!options_.token.empty()) req.headers().add("X-Consul-Token", options_.token);
    if (method == "PUT" || !body.empty()) {
      req.set_body(std::vector<unsigned char>(body.begin(), body.end()));
    }
    web::http::http_response resp = client.request(req).get();
    std::vector<unsigned char> bytes = resp.extract_vector().get();
    return ApiResponse{resp.status_code(), std::string(bytes.begin(), bytes.end())};
  } catch (const std::exception& e) {
    return unavailable("Error connecting to Cairn agent at " + base_ + ": " + e.what());
  }
}

}  // namespace cairn::agent::cli
