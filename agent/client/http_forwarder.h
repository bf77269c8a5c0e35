#pragma once
// HttpForwarder: a client agent's answer to every HTTP request it does not serve itself (all but
// /v1/agent/*): the request travels as an HttpEnvelope over ServerConnection to one server, which
// runs it through its own Router (agent/client_rpc_service.h). gRPC's callback API on both ends:
// a blocking query holds no thread on the client or the server while it waits.
//
// When the server fails (docs/agent.md, "Client agents: failover"):
// - reads (GET, HEAD) are sent again to the next server, for up to `read_retry_for` after the
//   failure: a blocking query resumes there with the same index;
// - writes are sent only on a connected channel (READY). While none is, the write waits (up to
//   `connect_wait`) and the client moves between servers: it was never sent, so it is safe. Once
//   sent, a failure of the call means the server may or may not have applied it: the client
//   answers 500 "outcome unknown" and never sends it again. The one exception is the server's own
//   "not ready" refusal (FAILED_PRECONDITION), which it sends before doing anything.
//
// Threading: thread-safe; forward() never blocks (waits are TimerQueue tasks).

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "agent/client/server_connection.h"
#include "core/base/timer_queue.h"
#include "core/http/http_types.h"

namespace cairn::agent::client {

class HttpForwarder {
 public:
  struct Options {
    Nanos read_retry_for = std::chrono::seconds(30);
    Nanos connect_wait = std::chrono::seconds(15);
    std::chrono::milliseconds poll{20};  // how often a waiting write looks at the channel again
    // After a failure the request goes at once to the next server; after each further failure
    // it pauses twice as long as before (from `poll`), up to this: a client whose servers are
    // all down does not spin.
    Nanos max_retry_pause = std::chrono::seconds(1);
    // A write that waited this long for one server's channel to connect moves to the next.
    Nanos connect_timeout = std::chrono::seconds(2);
    // This agent's node: a session created through it without a Node belongs to it (Consul's
    // agent fills in its own node name), not to the server that runs the request.
    std::string node_name;
  };
  // Everything outlives the forwarder and the calls it started.
  HttpForwarder(ServerConnection& connection, TimerQueue& timers, const Clock& clock,
                Options options);

  void forward(http::RequestPtr request, http::Responder respond);
  // For a request that has an answer of its own when the servers are out of reach (a client's
  // /v1/agent/members falls back to its local view): tried for `within` instead of the method's
  // usual time, then `unreachable` gets why, in place of the 500 "No Cairn server reachable".
  struct Fallback {
    Nanos within;
    std::function<void(const std::string& why)> unreachable;
  };
  void forward(http::RequestPtr request, http::Responder respond, Fallback fallback);
  // forward() as a route handler.
  http::Handler handler();

  struct Attempt;  // one request until it is answered (http_forwarder.cc)

 private:
  void begin(http::RequestPtr request, http::Responder respond, std::optional<Fallback> fallback);
  void start(std::shared_ptr<Attempt> attempt);
  void send(std::shared_ptr<Attempt> attempt, const ServerConnection::Target& target);
  void onDone(std::shared_ptr<Attempt> attempt, const ServerConnection::Target& target,
              const grpc::Status& status);
  // After a failure (`why`): tries again after pauseAfter(), or answers `why` when the
  // attempt's time is up.
  void retry(std::shared_ptr<Attempt> attempt, const std::string& why);
  // Tries again after `delay` (no failure: waiting for a server or a connection), or answers
  // `why` when the attempt's time is up.
  void wait(std::shared_ptr<Attempt> attempt, Nanos delay, const std::string& why);
  Nanos pauseAfter(int failures) const;

  ServerConnection& connection_;
  TimerQueue& timers_;
  const Clock& clock_;
  const Options options_;
};

// The envelope of `request` (hop-by-hop headers dropped; a session create without Node gets
// `node_name`) and the response of a reply.
v1::HttpEnvelope envelopeOf(const http::HttpRequest& request, const std::string& node_name);
http::HttpResponse responseOf(v1::HttpReply reply);

}  // namespace cairn::agent::client
