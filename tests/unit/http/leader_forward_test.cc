// LeaderForwarder: the decision table, the relayed answer, and real relays to a stand-in leader
// (an HttpServer on 127.0.0.1) through cpprestsdk's client.
#include "core/http/leader_forward.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <mutex>

#include "core/http/server.h"

namespace cairn::http {
namespace {

using node::LeaderStatus;

LeaderStatus leaderAt(std::string http_address) {
  LeaderStatus s;
  s.known_leader = true;
  s.leader_address = "127.0.0.1:8300";
  s.leader_http_address = std::move(http_address);
  return s;
}

TEST(ChooseForwardAction, LeaderAndStaleReadsAnswerLocally) {
  EXPECT_EQ(chooseForwardAction({true, false, false, {}}), ForwardAction::kLocal);
  EXPECT_EQ(chooseForwardAction({true, true, false, {}}), ForwardAction::kLocal)
      << "a relayed request reaching the leader is answered";
  EXPECT_EQ(chooseForwardAction({false, false, true, leaderAt("127.0.0.1:8500")}),
            ForwardAction::kLocal);
}

TEST(ChooseForwardAction, FollowerRelaysOnceAndNeverAgain) {
  EXPECT_EQ(chooseForwardAction({false, false, false, leaderAt("127.0.0.1:8500")}),
            ForwardAction::kForward);
  EXPECT_EQ(chooseForwardAction({false, true, false, leaderAt("127.0.0.1:8500")}),
            ForwardAction::kNotLeader);
  EXPECT_EQ(chooseForwardAction({false, true, false, {}}), ForwardAction::kNotLeader);
}

TEST(ChooseForwardAction, NoLeaderOrNoAddress) {
  EXPECT_EQ(chooseForwardAction({false, false, false, {}}), ForwardAction::kWaitForLeader);
  EXPECT_EQ(chooseForwardAction({false, false, false, leaderAt("")}),
            ForwardAction::kNoLeaderAddress);
}

TEST(RelayedResponse, KeepsStatusBodyContentTypeAndConsulHeaders) {
  HttpResponse r = relayedResponse(429,
                                   {{"Content-Type", "application/json"},
                                    {"X-Consul-Index", "7"},
                                    {"x-consul-knownleader", "true"},
                                    {"X-Consul-Default-ACL-Policy", "allow"},
                                    {"Content-Length", "2"},
                                    {"Date", "now"}},
                                   "{}");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "{}");
  EXPECT_EQ(r.content_type, "application/json");
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(r.headers, (Headers{{"X-Consul-Index", "7"}, {"x-consul-knownleader", "true"}}));
}

// A Node that is a follower of whatever `leader` says.
class FollowerNode : public node::Node {
 public:
  void propose(v1::Command, node::ProposeCallback) override { ADD_FAILURE() << "propose"; }
  void readBarrier(node::ReadMode, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  LeaderStatus leaderStatus() const override {
    std::lock_guard lock(mu);
    return leader;
  }
  bool isLeader() const override { return false; }
  node::RaftConfiguration raftConfiguration() const override { return {}; }
  void removePeer(const std::string&, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  void transferLeadership(const std::string&, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  StatusOr<node::AutopilotHealth> autopilotHealth() const override {
    return unavailable("not the leader");
  }
  void setLeader(LeaderStatus s) {
    std::lock_guard lock(mu);
    leader = std::move(s);
  }

  mutable std::mutex mu;
  LeaderStatus leader;
};

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class LeaderForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The stand-in leader echoes what it received.
    leader_router_.add(Route{"/v1/operator/",
                             true,
                             {"GET", "POST", "DELETE"},
                             [this](RequestPtr req, Responder respond) {
                               {
                                 std::lock_guard lock(mu_);
                                 seen_ = *req;
                               }
                               HttpResponse r =
                                   jsonResponse("{\"Echo\":\"" + req->path + "\"}", 429);
                               r.setHeader("X-Consul-Index", "12");
                               respond(std::move(r));
                             },
                             Router::kDefaultMaxBody});
    leader_port_ = freePort();
    leader_ = std::make_unique<HttpServer>(leader_router_, metrics_);
    ASSERT_TRUE(leader_->start("127.0.0.1", leader_port_).isOk());
  }
  void TearDown() override { leader_->stop(); }

  std::string leaderAddress() const { return "127.0.0.1:" + std::to_string(leader_port_); }

  std::shared_ptr<LeaderForwarder> forwarder(
      std::chrono::milliseconds wait = std::chrono::milliseconds(5000)) {
    LeaderForwarder::Options o;
    o.leader_wait = wait;
    o.poll = std::chrono::milliseconds(10);
    return LeaderForwarder::create({node_, timers_, "follower-1"}, o);
  }

  // Runs `req` through the forwarder; the local handler answers 299 "local".
  HttpResponse call(LeaderForwarder& f, HttpRequest req, bool stale_ok = false) {
    auto shared = std::make_shared<HttpRequest>(std::move(req));
    auto reply = std::make_shared<std::promise<HttpResponse>>();
    auto future = reply->get_future();
    f.handle(shared, Responder([reply](HttpResponse r) { reply->set_value(std::move(r)); }),
             stale_ok, [this](RequestPtr, Responder respond) {
               ++local_calls_;
               respond(textResponse(299, "local"));
             });
    EXPECT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return future.get();
  }

  static HttpRequest request(std::string method, std::string path, std::string query = "") {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    r.raw_query = query;
    r.query = QueryParams::parse(query);
    return r;
  }

  HttpRequest seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  metrics::Metrics metrics_{"test", "test"};
  Router leader_router_;
  int leader_port_ = 0;
  std::unique_ptr<HttpServer> leader_;
  FollowerNode node_;
  TimerQueue timers_;
  std::atomic<int> local_calls_{0};
  std::mutex mu_;
  HttpRequest seen_;
};

TEST_F(LeaderForwarderTest, RelaysTheRequestAndPassesTheLeadersAnswerOn) {
  node_.setLeader(leaderAt(leaderAddress()));
  auto f = forwarder();
  HttpRequest req = request("DELETE", "/v1/operator/raft/peer", "id=abc&pretty");
  req.headers["x-consul-token"] = "secret";
  req.headers["x-unrelated"] = "dropped";
  HttpResponse r = call(*f, req);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.body, "{\"Echo\":\"/v1/operator/raft/peer\"}");
  EXPECT_EQ(r.content_type, "application/json");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].second, "12");
  EXPECT_EQ(local_calls_, 0);
  HttpRequest at_leader = seen();
  EXPECT_EQ(at_leader.method, "DELETE");
  EXPECT_EQ(at_leader.raw_query, "id=abc&pretty");
  EXPECT_EQ(at_leader.headers["x-consul-token"], "secret");
  EXPECT_EQ(at_leader.headers["x-cairn-forwarded-by"], "follower-1");
  EXPECT_EQ(at_leader.headers.count("x-unrelated"), 0u);
}

TEST_F(LeaderForwarderTest, StaleReadsAndLeadersAnswerLocally) {
  node_.setLeader(leaderAt(leaderAddress()));
  auto f = forwarder();
  EXPECT_EQ(call(*f, request("GET", "/v1/operator/raft/configuration", "stale"), true).status, 299);
  EXPECT_EQ(call(*f, request("GET", "/v1/operator/autopilot/health", "stale"), false).status, 429)
      << "a route that must be answered by the leader ignores ?stale";
  EXPECT_EQ(local_calls_, 1);
}

TEST_F(LeaderForwarderTest, RelayedRequestToAFollowerIsRefusedNotRelayedAgain) {
  node_.setLeader(leaderAt(leaderAddress()));
  auto f = forwarder();
  HttpRequest req = request("POST", "/v1/operator/raft/transfer-leader");
  req.headers["x-cairn-forwarded-by"] = "follower-2";
  HttpResponse r = call(*f, req);
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body,
            "not the leader: the request relayed by follower-2 arrived after leadership moved; "
            "retry");
  EXPECT_EQ(seen().method, "") << "nothing reached the leader";
}

TEST_F(LeaderForwarderTest, WaitsForALeaderThenAnswersNoClusterLeader) {
  auto f = forwarder(std::chrono::milliseconds(200));
  HttpResponse r = call(*f, request("GET", "/v1/operator/autopilot/health"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "No cluster leader");
}

TEST_F(LeaderForwarderTest, RelaysOnceALeaderIsElectedDuringTheWait) {
  auto f = forwarder();
  auto shared = std::make_shared<HttpRequest>(request("GET", "/v1/operator/autopilot/health"));
  std::promise<HttpResponse> reply;
  auto future = reply.get_future();
  f->handle(shared, Responder([&reply](HttpResponse r) { reply.set_value(std::move(r)); }), false,
            [](RequestPtr, Responder respond) { respond(textResponse(299, "local")); });
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  node_.setLeader(leaderAt(leaderAddress()));
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(future.get().status, 429);
}

TEST_F(LeaderForwarderTest, LeaderWithoutHttpAddressOrUnreachable) {
  auto f = forwarder(std::chrono::milliseconds(200));  // a read is retried for this long
  node_.setLeader(leaderAt(""));
  HttpResponse r = call(*f, request("GET", "/v1/operator/autopilot/health"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body,
            "cannot forward to the leader 127.0.0.1:8300: it did not advertise its HTTP address");
  leader_->stop();
  node_.setLeader(leaderAt(leaderAddress()));
  r = call(*f, request("GET", "/v1/operator/autopilot/health"));
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(
      r.body.rfind("rpc error: cannot reach the leader's HTTP API at " + leaderAddress() + ": ", 0),
      0u)
      << r.body;
}

TEST_F(LeaderForwarderTest, ReadToADeadLeaderIsRetriedAtTheNextLeaderWriteIsNot) {
  auto f = forwarder();
  std::string dead = "127.0.0.1:" + std::to_string(freePort());  // nothing listens there
  node_.setLeader(leaderAt(dead));
  HttpResponse write = call(*f, request("POST", "/v1/operator/raft/transfer-leader"));
  EXPECT_EQ(write.status, 500);
  EXPECT_EQ(write.body.rfind("rpc error: cannot reach the leader's HTTP API at " + dead, 0), 0u)
      << write.body;
  auto shared = std::make_shared<HttpRequest>(request("GET", "/v1/operator/autopilot/health"));
  std::promise<HttpResponse> reply;
  auto future = reply.get_future();
  f->handle(shared, Responder([&reply](HttpResponse r) { reply.set_value(std::move(r)); }), false,
            [](RequestPtr, Responder respond) { respond(textResponse(299, "local")); });
  EXPECT_EQ(future.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  node_.setLeader(leaderAt(leaderAddress()));  // a new leader, elected meanwhile
  ASSERT_EQ(future.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(future.get().status, 429);
  EXPECT_EQ(seen().method, "GET");
}

}  // namespace
}  // namespace cairn::http
