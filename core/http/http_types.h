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

class BodyStream;  // body_stream.h

struct HttpRequest {
  std::string method;  // upper case
  std::string path;    // percent-decoded
  std::string raw_query;
  QueryParams query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string route;  // the matched route template, for metrics
  // A request a client agent forwarded (agent/client/http_forwarder.h): that agent's node name,
  // for answers given from an agent's point of view (the events it keeps). Empty otherwise.
  std::string agent_node;
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
  // A body sent in pieces after the head (body_stream.h); `body` is then ignored. Only the HTTP
  // edge streams: other transports (in-process, forwarded) close the stream and send no body.
  std::shared_ptr<BodyStream> stream;

  void setHeader(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

HttpResponse textResponse(int status, std::string body);
HttpResponse jsonResponse(std::string body, int status = 200);

// Sends the response for one request. Copyable; the first call wins and later calls are ignored.
// Thread-safe: may be called from any thread, long after the handler returned.
//
// Cancellation: a transport that sees its client go away (it closed the connection) calls
// cancel(); a handler that holds resources while it waits (a blocking query) registers
// onCancel() to give them back at once instead of when the wait ends. A transport without a
// client to lose (an in-process call) never cancels.
class Responder {
 public:
  // `waiting`, if given, is called (once, on the registering thread) when a handler registers
  // onCancel(): the transport may then start watching for its client leaving.
  explicit Responder(std::function<void(HttpResponse)> send,
                     std::function<void()> waiting = nullptr);
  void operator()(HttpResponse response) const;

  // Runs `fn` once if the request is cancelled before it is answered (at once, on this thread,
  // when it already was). A later call replaces an earlier `fn`. Answering drops `fn`.
  void onCancel(std::function<void()> fn) const;
  // The client is gone. Runs the onCancel function, if any, on this thread, and returns true
  // when there was one (a waiting handler stopped: no answer will come). A handler that did not
  // register one may still answer; the transport decides what to do with it.
  bool cancel() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

using Handler = std::function<void(RequestPtr, Responder)>;

}  // namespace cairn::http
