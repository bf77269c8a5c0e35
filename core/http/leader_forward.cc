#define _TURN_OFF_PLATFORM_STRING
#include "core/http/leader_forward.h"

#include <cpprest/http_client.h>

#include <algorithm>
#include <cctype>

namespace cairn::http {
namespace {

namespace web_http = web::http;
namespace web_client = web::http::client;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool hasHeader(const HttpRequest& req, const char* name) {
  return req.headers.count(lower(name)) > 0;  // HttpRequest keeps names lower-cased
}

HttpResponse unreachable(const std::string& address, const std::string& why) {
  return textResponse(500,
                      "rpc error: cannot reach the leader's HTTP API at " + address + ": " + why);
}

// The request as the leader must see it: same method, path, query, body and credentials, marked
// as relayed.
web_http::http_request relayedRequest(const HttpRequest& req, const std::string& self_name) {
  web_http::http_request out(req.method);
  std::string uri = web::uri::encode_uri(req.path, web::uri::components::path);
  if (!req.raw_query.empty()) uri += "?" + req.raw_query;
  out.set_request_uri(web::uri(uri));  // throws web::uri_exception on a malformed query
  if (!req.body.empty()) out.set_body(req.body);
  for (const auto& [name, value] : req.headers) {
    if (name == "content-type" || name == "x-consul-token" || name == "authorization") {
      out.headers()[name] = value;
    }
  }
  out.headers()[kForwardedHeader] = self_name;
  return out;
}

}  // namespace

ForwardAction chooseForwardAction(const ForwardFacts& f) {
  if (f.is_leader || f.stale_read) return ForwardAction::kLocal;
  if (f.relayed) return ForwardAction::kNotLeader;
  if (!f.leader.known_leader) return ForwardAction::kWaitForLeader;
  if (f.leader.leader_http_address.empty()) return ForwardAction::kNoLeaderAddress;
  return ForwardAction::kForward;
}

HttpResponse relayedResponse(int status,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "";
  r.body = std::move(body);
  for (const auto& [name, value] : headers) {
    std::string key = lower(name);
    if (key == "content-type") {
      r.content_type = value;
    } else if (key.rfind("x-consul-", 0) == 0 && key != "x-consul-default-acl-policy") {
      r.setHeader(name, value);
    }
  }
  return r;
}

std::shared_ptr<LeaderForwarder> LeaderForwarder::create(Deps deps, Options options) {
  return std::shared_ptr<LeaderForwarder>(new LeaderForwarder(std::move(deps), options));
}

void LeaderForwarder::handle(RequestPtr req, Responder respond, bool stale_ok, Handler local) {
  attempt(std::move(req), std::move(respond), stale_ok, std::move(local),
          std::chrono::steady_clock::now() + options_.leader_wait);
}

void LeaderForwarder::attempt(RequestPtr req, Responder respond, bool stale_ok, Handler local,
                              SteadyTime deadline) {
  ForwardFacts facts;
  facts.is_leader = deps_.node.isLeader();
  facts.relayed = hasHeader(*req, kForwardedHeader);
  facts.stale_read = stale_ok && req->query.has("stale");
  facts.leader = deps_.node.leaderStatus();
  switch (chooseForwardAction(facts)) {
    case ForwardAction::kLocal:
      return local(std::move(req), std::move(respond));
    case ForwardAction::kForward: {
      // A read may be relayed again if the leader cannot be reached (it just died: the next
      // attempt finds the new leader); a write may have been received, so it is never repeated.
      std::function<bool()> retry;
      if (req->method == "GET") {
        retry = [self = shared_from_this(), req, respond, stale_ok, local, deadline] {
          return self->retryLater(req, respond, stale_ok, local, deadline);
        };
      }
      return relay(facts.leader.leader_http_address, std::move(req), std::move(respond),
                   std::move(retry));
    }
    case ForwardAction::kNotLeader:
      return respond(textResponse(500, "not the leader: the request relayed by " +
                                           req->headers.at(lower(kForwardedHeader)) +
                                           " arrived after leadership moved; retry"));
    case ForwardAction::kNoLeaderAddress:
      return respond(textResponse(500, "cannot forward to the leader " +
                                           facts.leader.leader_address +
                                           ": it did not advertise its HTTP address"));
    case ForwardAction::kWaitForLeader:
      if (!retryLater(req, respond, stale_ok, local, deadline)) {
        respond(textResponse(500, "No cluster leader"));
      }
      return;
  }
}

bool LeaderForwarder::retryLater(RequestPtr req, Responder respond, bool stale_ok, Handler local,
                                 SteadyTime deadline) {
  auto now = std::chrono::steady_clock::now();
  if (now >= deadline) return false;
  auto self = shared_from_this();
  deps_.timers.schedule(std::min(deadline, now + options_.poll), [self, req, respond, stale_ok,
                                                                  local, deadline]() mutable {
    self->attempt(std::move(req), std::move(respond), stale_ok, std::move(local), deadline);
  });
  return true;
}

void LeaderForwarder::relay(const std::string& address, RequestPtr req, Responder respond,
                            std::function<bool()> retry) {
  web_client::http_client_config config;
  config.set_timeout(std::chrono::duration_cast<std::chrono::microseconds>(options_.timeout));
  std::shared_ptr<web_client::http_client> client;
  web_http::http_request out;
  try {
    out = relayedRequest(*req, deps_.self_name);
  } catch (const std::exception& e) {
    return respond(textResponse(400, std::string("invalid request URI: ") + e.what()));
  }
  try {
    client = std::make_shared<web_client::http_client>("http://" + address, config);
  } catch (const std::exception& e) {
    return respond(unreachable(address, e.what()));
  }
  // `client` is captured so that it outlives the request.
  client->request(out).then(
      [client, address, respond, retry](pplx::task<web_http::http_response> t) {
        web_http::http_response answer;
        try {
          answer = t.get();
        } catch (const std::exception& e) {
          if (retry && retry()) return;
          return respond(unreachable(address, e.what()));
        }
        std::vector<std::pair<std::string, std::string>> headers(answer.headers().begin(),
                                                                 answer.headers().end());
        int status = answer.status_code();
        answer.extract_vector().then(
            [address, respond, status, headers](pplx::task<std::vector<unsigned char>> body) {
              try {
                std::vector<unsigned char> bytes = body.get();
                respond(relayedResponse(status, headers, std::string(bytes.begin(), bytes.end())));
              } catch (const std::exception& e) {
                respond(unreachable(address, e.what()));
              }
            });
      });
}

}  // namespace cairn::http
