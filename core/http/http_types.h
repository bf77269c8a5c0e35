#pragma once
// Transport-neutral request and response types. Handlers see only these, so they can be tested
// without sockets; server.cc converts to and from cpprestsdk at the edge.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/http/query.h"

namespace cairn::acl {
class Authorizer;
}

namespace cairn::http {

struct HttpRequest {
  std::string method;  // upper case
  std::string path;    // percent-decoded
  std::string raw_query;
  QueryParams query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string route;  // the matched route template, for metrics
  // What the caller may do (docs/security.md): set by the ACL guard in Router::dispatch, before
  // the handler runs, when ACLs are enabled; null when they are not (everything is allowed).
  // Handlers filter lists with it. Written once before the handler runs, read-only after.
  mutable std::shared_ptr<const acl::Authorizer> authz;
};
using RequestPtr = std::shared_ptr<const HttpRequest>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  void setHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

HttpResponse textResponse(int status, std::string body);
HttpResponse jsonResponse(std::string body, int status = 200);

// Sends the response for one request. Copyable; the first call wins and later calls are ignored.
// Thread-safe: may be called from any thread, long after the handler returned.
class Responder {
 public:
  explicit Responder(std::function<void(HttpResponse)> send);
  void operator()(HttpResponse response) const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(RequestPtr, Responder)>;

}  // namespace cairn::http
