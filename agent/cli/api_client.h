#pragma once
// ApiClient: the CLI's HTTP client for an agent's Consul-compatible API. Address from
// -http-addr, else CAIRN_HTTP_ADDR, else CONSUL_HTTP_ADDR, else 127.0.0.1:8500.

#include <string>

#include "agent/flags.h"
#include "core/base/status.h"

namespace cairn::agent::cli {

struct ApiResponse {
  int status = 0;
  std::string body;
};

// Flags every API command takes.
struct ApiOptions {
  std::string http_addr;
  std::string token;
  std::string datacenter;
  bool stale = false;
  void define(FlagSet& flags);
};

// "host:port", "http://host:port" or "https://..." from the options and environment.
std::string resolveHttpAddr(const std::string& flag_value);
// Percent-encodes a KV key for a URL path, keeping '/' as is.
std::string encodeKeyPath(const std::string& key);

class ApiClient {
 public:
  explicit ApiClient(const ApiOptions& options);
  // `path_and_query` starts with "/v1/". Adds dc/stale/token. Errors: connection failures only.
  StatusOr<ApiResponse> request(const std::string& method, std::string path_and_query,
                                const std::string& body = "") const;

 private:
  ApiOptions options_;
  std::string base_;
};

}  // namespace cairn::agent::cli
