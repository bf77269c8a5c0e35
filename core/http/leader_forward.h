#pragma once
// LeaderForwarder: answers, on every server, the requests that only the Raft leader can answer
// (the operator endpoints; Consul forwards their RPCs to its leader). A follower relays the HTTP
// request unchanged to the leader's HTTP API (ServerInfo.http_address, learnt with the rest of
// the address book) and passes the leader's answer back, so every server gives the leader's
// answer, byte for byte.
//
// Threading: handle() never blocks and may be called from any thread. Waiting for a leader polls
// on the TimerQueue (up to Options::leader_wait; a GET whose leader cannot be reached is retried
// within the same wait, so a read asked while the leader dies reaches the next one). The relay
// uses cpprestsdk's asynchronous client and answers from its task continuation, so no HTTP pool
// thread waits on the leader.
//
// Loops: a relayed request carries kForwardedHeader. The server receiving one answers it itself
// when it leads, and otherwise refuses (500) instead of relaying it again (leadership moved while
// the request was on its way).

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/timer_queue.h"
#include "core/http/http_types.h"
#include "core/node/node.h"

namespace cairn::http {

// Marks a request relayed by a follower; the value is the relaying agent's node name.
inline constexpr char kForwardedHeader[] = "X-Cairn-Forwarded-By";

enum class ForwardAction {
  kLocal,            // answer here: this server leads, or the route may serve ?stale locally
  kForward,          // relay to the leader's HTTP address
  kWaitForLeader,    // no leader known (yet): poll until one is, or answer "No cluster leader"
  kNoLeaderAddress,  // the leader did not advertise its HTTP address
  kNotLeader,        // a relayed request reached a server that does not lead (any more)
};

struct ForwardFacts {
  bool is_leader = false;
  bool relayed = false;     // the request carries kForwardedHeader
  bool stale_read = false;  // ?stale on a route that may answer it locally
  node::LeaderStatus leader;
};

// What a server does with a request only the leader can answer. Pure.
ForwardAction chooseForwardAction(const ForwardFacts& facts);

// The answer a follower passes on from the leader: its status, Content-Type, body and X-Consul-*
// headers (except the ones every server adds itself). `headers` as received, any case. Pure.
HttpResponse relayedResponse(int status,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             std::string body);

class LeaderForwarder : public std::enable_shared_from_this<LeaderForwarder> {
 public:
  struct Deps {
    node::Node& node;
    TimerQueue& timers;
    std::string self_name;  // sent in kForwardedHeader (for the leader's logs and loop checks)
  };
  struct Options {
    std::chrono::milliseconds leader_wait{5000};  // as long as writes wait for a leader
    std::chrono::milliseconds poll{50};
    std::chrono::milliseconds timeout{10000};  // for the leader's answer (a transfer takes ~1 s)
  };

  // Every reference in `deps` outlives the forwarder and the requests it relays.
  static std::shared_ptr<LeaderForwarder> create(Deps deps, Options options);

  // Answers `req` through `local` (a handler that assumes this server leads) when
  // chooseForwardAction says kLocal, else relays it to the leader or fails as Consul does.
  // `stale_ok`: this route may serve ?stale from local state.
  void handle(RequestPtr req, Responder respond, bool stale_ok, Handler local);

 private:
  LeaderForwarder(Deps deps, Options options) : deps_(std::move(deps)), options_(options) {}
  void attempt(RequestPtr req, Responder respond, bool stale_ok, Handler local,
               SteadyTime deadline);
  // Schedules another attempt after Options::poll; false (nothing scheduled) past `deadline`.
  bool retryLater(RequestPtr req, Responder respond, bool stale_ok, Handler local,
                  SteadyTime deadline);
  // `retry`, if set, is called when the leader cannot be reached; true: it will answer instead.
  void relay(const std::string& address, RequestPtr req, Responder respond,
             std::function<bool()> retry);

  Deps deps_;
  Options options_;
};

}  // namespace cairn::http
