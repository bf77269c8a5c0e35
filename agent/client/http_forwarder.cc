#include "agent/client/http_forwarder.h"

#include <set>

#include "core/base/logging.h"
#include "core/http/acl_resolver.h"
#include "core/http/json_reader.h"

namespace cairn::agent::client {

struct HttpForwarder::Attempt {
  explicit Attempt(http::Responder r) : respond(std::move(r)) {}
  http::Responder respond;
  v1::HttpEnvelope envelope;
  bool read = false;
  int failures = 0;  // calls or connections that failed so far (sets the pause before the next)
  std::optional<SteadyTime> deadline;
  std::optional<Fallback> fallback;
  // A write waiting for a connection: since when it waits on the channel of `waiting_generation`.
  uint64_t waiting_generation = 0;
  SteadyTime waiting_since;  // set when the attempt starts waiting or retrying
  // Per call; gRPC needs both alive until its callback ran.
  grpc::ClientContext context;
  v1::HttpReply reply;
};

namespace {

bool isRead(const std::string& method) { return method == "GET" || method == "HEAD"; }

// The body of PUT /v1/session/create with Node set to `node_name` when it has none. A body that
// is not a JSON object is left alone: the server answers 400 for it.
std::string sessionBody(const std::string& body, const std::string& node_name) {
  auto parsed = http::parseJson(body.empty() ? "{}" : body);
  if (!parsed.isOk() || !parsed->is_object()) return body;
  web::json::value v = *parsed;
  if (v.has_field("Node") && v.at("Node").is_string() && !v.at("Node").as_string().empty()) {
    return body;
  }
  v["Node"] = web::json::value::string(node_name);
  return v.serialize();
}

}  // namespace

v1::HttpEnvelope envelopeOf(const http::HttpRequest& request, const std::string& node_name,
                            const std::string& default_token) {
  static const std::set<std::string> kHopByHop = {"connection", "content-length",
                                                  "expect",     "host",
                                                  "keep-alive", "te",
                                                  "trailer",    "transfer-encoding",
                                                  "upgrade",    "proxy-connection"};
  v1::HttpEnvelope e;
  e.set_method(request.method);
  e.set_path(request.path);
  e.set_raw_query(request.raw_query);
  e.set_agent_node(node_name);
  for (const auto& [name, value] : request.headers) {
    if (kHopByHop.count(name) != 0) continue;
    auto* h = e.add_headers();
    h->set_name(name);
    h->set_value(value);
  }
  if (!default_token.empty() && http::requestToken(request).empty()) {
    auto* h = e.add_headers();
    h->set_name("x-consul-token");
    h->set_value(default_token);
  }
  bool session_create = request.method == "PUT" && request.path == "/v1/session/create";
  e.set_body(session_create && !node_name.empty() ? sessionBody(request.body, node_name)
                                                  : request.body);
  return e;
}

http::HttpResponse responseOf(v1::HttpReply reply) {
  http::HttpResponse r;
  r.status = reply.status();
  r.content_type = std::move(*reply.mutable_content_type());
  for (auto& h : *reply.mutable_headers()) {
    r.headers.emplace_back(std::move(*h.mutable_name()), std::move(*h.mutable_value()));
  }
  r.body = std::move(*reply.mutable_body());
  return r;
}

HttpForwarder::HttpForwarder(ServerConnection& connection, TimerQueue& timers, const Clock& clock,
                             Options options)
    : connection_(connection), timers_(timers), clock_(clock), options_(options) {}

http::Handler HttpForwarder::handler() {
  return [this](http::RequestPtr request, http::Responder respond) {
    forward(std::move(request), std::move(respond));
  };
}

void HttpForwarder::forward(http::RequestPtr request, http::Responder respond) {
  begin(std::move(request), std::move(respond), std::nullopt);
}

void HttpForwarder::forward(http::RequestPtr request, http::Responder respond, Fallback fallback) {
  begin(std::move(request), std::move(respond), std::move(fallback));
}

void HttpForwarder::begin(http::RequestPtr request, http::Responder respond,
                          std::optional<Fallback> fallback) {
  auto attempt = std::make_shared<Attempt>(std::move(respond));
  attempt->envelope = envelopeOf(*request, options_.node_name, options_.default_token);
  attempt->read = isRead(request->method);
  attempt->fallback = std::move(fallback);
  start(std::move(attempt));
}

void HttpForwarder::start(std::shared_ptr<Attempt> attempt) {
  std::optional<ServerConnection::Target> target = connection_.target();
  if (!target) return wait(std::move(attempt), std::chrono::milliseconds(100), "no server known");
  if (!attempt->read) {
    // A write goes only on a connected channel: until then it has not left this process.
    grpc_connectivity_state state = ServerConnection::state(*target, true);
    if (state != GRPC_CHANNEL_READY) {
      SteadyTime now = clock_.now();
      if (attempt->waiting_generation != target->generation) {
        attempt->waiting_generation = target->generation;
        attempt->waiting_since = now;
      }
      std::string why = "no server reachable (last tried " + target->address + ")";
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE ||
          now - attempt->waiting_since >= options_.connect_timeout) {
        connection_.reportFailure(*target);
        return retry(std::move(attempt), why);
      }
      return wait(std::move(attempt), options_.poll, why);
    }
  }
  send(std::move(attempt), *target);
}

void HttpForwarder::send(std::shared_ptr<Attempt> attempt, const ServerConnection::Target& target) {
  // A fresh context per call (a ClientContext serves one call only).
  auto call = std::make_shared<Attempt>(attempt->respond);
  call->envelope = std::move(attempt->envelope);
  call->read = attempt->read;
  call->deadline = attempt->deadline;
  call->failures = attempt->failures;
  call->fallback = attempt->fallback;
  call->context.set_wait_for_ready(false);
  Attempt* raw = call.get();
  target.stub->async()->Http(&raw->context, &raw->envelope, &raw->reply,
                             [this, call, used = ServerConnection::failureOf(target)](
                                 grpc::Status status) { onDone(call, used, status); });
}

void HttpForwarder::onDone(std::shared_ptr<Attempt> attempt, const ServerConnection::Target& target,
                           const grpc::Status& status) {
  if (status.ok()) return attempt->respond(responseOf(std::move(attempt->reply)));
  std::string why = "server " + target.address + ": " + status.error_message();
  if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    return attempt->respond(http::textResponse(413, "Request too large to forward: " + why));
  }
  connection_.reportFailure(target);
  // The server refused before doing anything, or a read: safe to send again elsewhere.
  if (attempt->read || status.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
    LOG_DEBUG("client", "retrying " << attempt->envelope.method() << " " << attempt->envelope.path()
                                    << " elsewhere: " << why);
    return retry(std::move(attempt), why);
  }
  LOG_WARN("client", "write " << attempt->envelope.path() << " lost its server: " << why);
  attempt->respond(http::textResponse(
      500, "outcome unknown: the connection to " + target.address +
               " failed while it handled this write (" + status.error_message() +
               "); it may or may not have been applied, and the client agent does not send a "
               "write twice. Read the data back before retrying."));
}

Nanos HttpForwarder::pauseAfter(int failures) const {
  if (failures <= 1) return Nanos(0);
  Nanos pause = options_.poll;
  for (int i = 2; i < failures && pause < options_.max_retry_pause; ++i) pause *= 2;
  return std::min<Nanos>(pause, options_.max_retry_pause);
}

void HttpForwarder::retry(std::shared_ptr<Attempt> attempt, const std::string& why) {
  ++attempt->failures;
  Nanos pause = pauseAfter(attempt->failures);
  wait(std::move(attempt), pause, why);
}

void HttpForwarder::wait(std::shared_ptr<Attempt> attempt, Nanos delay, const std::string& why) {
  SteadyTime now = clock_.now();
  if (!attempt->deadline) {
    Nanos budget = attempt->read ? options_.read_retry_for : options_.connect_wait;
    attempt->deadline = now + (attempt->fallback ? attempt->fallback->within : budget);
  }
  if (now >= *attempt->deadline) {
    if (attempt->fallback) return attempt->fallback->unreachable(why);
    std::string what = attempt->read ? "" : " (the write was not sent)";
    return attempt->respond(http::textResponse(500, "No Cairn server reachable: " + why + what));
  }
  timers_.schedule(std::chrono::steady_clock::now() + delay,
                   [this, attempt = std::move(attempt)]() mutable { start(std::move(attempt)); });
}

}  // namespace cairn::agent::client
