// HttpForwarder against two fake servers (cairn.v1.ClientRpc on 127.0.0.1:0): a read whose server
// dies is answered by the next server; a write whose server dies after receiving it answers
// "outcome unknown" and reaches no other server; a write while the first server is down goes to
// the next one; failovers reuse one channel per server.
#include "agent/client/http_forwarder.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <list>
#include <mutex>

namespace cairn::agent::client {
namespace {

using namespace std::chrono_literals;

// Answers "from <name>", or holds every call until shutdown when `hang` is set.
class FakeServer final : public v1::ClientRpc::CallbackService {
 public:
  explicit FakeServer(std::string name, bool hang) : name_(std::move(name)), hang_(hang) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(this);
    server_ = b.BuildAndStart();
  }
  ~FakeServer() override { shutdown(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void shutdown() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());  // cancels held calls
    server_.reset();
  }
  int received() const { return received_; }
  bool waitReceived(int n) {
    for (int i = 0; i < 500 && received_ < n; ++i) std::this_thread::sleep_for(10ms);
    return received_ >= n;
  }

  grpc::ServerUnaryReactor* Http(grpc::CallbackServerContext* ctx, const v1::HttpEnvelope*,
                                 v1::HttpReply* reply) override {
    ++received_;
    if (hang_) return new Held();  // finished by the cancellation at shutdown
    auto* r = ctx->DefaultReactor();
    reply->set_status(200);
    reply->set_body("from " + name_);
    r->Finish(grpc::Status::OK);
    return r;
  }

 private:
  // A call that never answers; shutdown's cancellation finishes it.
  struct Held final : grpc::ServerUnaryReactor {
    void OnCancel() override { Finish(grpc::Status::CANCELLED); }
    void OnDone() override { delete this; }
  };

  const std::string name_;
  const bool hang_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<int> received_{0};
};

class HttpForwarderTest : public ::testing::Test {
 protected:
  void connect(std::vector<std::string> servers) {
    connection_ = std::make_unique<ServerConnection>(clock_, ServerConnection::Options{});
    connection_->setServers(servers);
    HttpForwarder::Options o;
    o.read_retry_for = 10s;
    o.connect_wait = 10s;
    forwarder_ = std::make_unique<HttpForwarder>(*connection_, timers_, clock_, o);
  }
  std::future<http::HttpResponse> send(std::string method) {
    auto req = std::make_shared<http::HttpRequest>();
    req->method = std::move(method);
    req->path = "/v1/kv/k";
    auto done = std::make_shared<std::promise<http::HttpResponse>>();
    auto answer = done->get_future();
    forwarder_->forward(
        req, http::Responder([done](http::HttpResponse r) { done->set_value(std::move(r)); }));
    return answer;
  }

  SystemClock clock_;
  TimerQueue timers_;
  std::unique_ptr<ServerConnection> connection_;
  std::unique_ptr<HttpForwarder> forwarder_;
};

TEST_F(HttpForwarderTest, AReadWhoseServerDiesIsAnsweredByTheNext) {
  FakeServer a("a", true), b("b", false);
  connect({a.address(), b.address()});
  auto answer = send("GET");
  ASSERT_TRUE(a.waitReceived(1));
  a.shutdown();
  ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
  http::HttpResponse r = answer.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "from b");
}

TEST_F(HttpForwarderTest, AWriteWhoseServerDiesAfterReceivingItIsNeverSentAgain) {
  FakeServer a("a", true), b("b", false);
  connect({a.address(), b.address()});
  // Connect first, so that the write is sent (not held for a connection).
  auto warm = send("GET");
  ASSERT_TRUE(a.waitReceived(1));
  auto answer = send("PUT");
  ASSERT_TRUE(a.waitReceived(2));
  a.shutdown();
  ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
  http::HttpResponse r = answer.get();
  EXPECT_EQ(r.status, 500);
  EXPECT_NE(r.body.find("outcome unknown"), std::string::npos) << r.body;
  ASSERT_EQ(warm.wait_for(20s), std::future_status::ready);  // the read moved to b
  EXPECT_EQ(warm.get().body, "from b");
  EXPECT_EQ(b.received(), 1);  // the read only
}

TEST_F(HttpForwarderTest, AWriteWhileTheFirstServerIsDownGoesToTheNext) {
  std::string gone;
  {
    FakeServer a("a", false);
    gone = a.address();
  }  // nothing listens there any more
  FakeServer b("b", false);
  connect({gone, b.address()});
  auto answer = send("PUT");
  ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
  http::HttpResponse r = answer.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "from b");
  EXPECT_EQ(b.received(), 1);
}

// A request with a fallback (a client's /v1/agent/members) gives up after its own time and hands
// over why instead of answering 500; while a server answers, the fallback is never used.
TEST_F(HttpForwarderTest, AFallbackReplacesTheAnswerWhenNoServerAnswers) {
  connect({});  // no server known
  HttpForwarder::Options patient;
  patient.read_retry_for = 1h;  // an answer within the test's deadline comes from the fallback's
  forwarder_ = std::make_unique<HttpForwarder>(*connection_, timers_, clock_, patient);
  auto why = std::make_shared<std::promise<std::string>>();
  auto fallen_back = why->get_future();
  auto answered = std::make_shared<std::atomic<bool>>(false);
  auto req = std::make_shared<http::HttpRequest>();
  req->method = "GET";
  req->path = "/v1/agent/members";
  forwarder_->forward(req, http::Responder([answered](http::HttpResponse) { *answered = true; }),
                      {300ms, [why](const std::string& w) { why->set_value(w); }});
  ASSERT_EQ(fallen_back.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(fallen_back.get(), "no server known");
  EXPECT_FALSE(*answered);

  FakeServer b("b", false);
  connection_->setServers({b.address()});
  auto done = std::make_shared<std::promise<http::HttpResponse>>();
  auto answer = done->get_future();
  forwarder_->forward(
      req, http::Responder([done](http::HttpResponse r) { done->set_value(std::move(r)); }),
      {300ms, [](const std::string&) { ADD_FAILURE() << "fell back while a server answers"; }});
  ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(answer.get().body, "from b");
}

// The only server is down: the read is retried (with growing pauses) until the fallback's time is
// up, on the one channel kept for that address. Creating a channel per retry instead aborted
// gRPC 1.51 under ASan (a double free in grpc_cq_internal_unref); see ServerConnection.
TEST_F(HttpForwarderTest, RetriesAgainstADeadServerThenTheFallback) {
  std::string gone;
  {
    FakeServer a("a", false);
    gone = a.address();
  }
  for (int round = 0; round < 3; ++round) {
    connect({gone});
    auto why = std::make_shared<std::promise<std::string>>();
    auto fallen_back = why->get_future();
    auto req = std::make_shared<http::HttpRequest>();
    req->method = "GET";
    req->path = "/v1/agent/members";
    forwarder_->forward(req, http::Responder([](http::HttpResponse) { ADD_FAILURE(); }),
                        {500ms, [why](const std::string& w) { why->set_value(w); }});
    ASSERT_EQ(fallen_back.wait_for(20s), std::future_status::ready);
    EXPECT_NE(fallen_back.get().find(gone), std::string::npos);
    EXPECT_EQ(connection_->channelsCreated(), 1u);
  }
}

// Failing over between two servers, back and forth, uses the two channels made the first time.
TEST_F(HttpForwarderTest, FailoversReuseOneChannelPerServer) {
  FakeServer b("b", false);
  std::string gone;
  {
    FakeServer a("a", false);
    gone = a.address();
  }
  connect({gone, b.address()});
  for (int i = 0; i < 5; ++i) {
    auto answer = send("GET");
    ASSERT_EQ(answer.wait_for(20s), std::future_status::ready);
    EXPECT_EQ(answer.get().body, "from b");
    // Back to the dead server, as a heartbeat failure would do.
    auto target = connection_->target();
    ASSERT_TRUE(target);
    connection_->reportFailure(*target);
  }
  EXPECT_EQ(connection_->channelsCreated(), 2u);
  // A server that leaves the list gives its channel back once unused.
  connection_->setServers({b.address()});
  EXPECT_EQ(connection_->releaseRetired(), 1u);
}

}  // namespace
}  // namespace cairn::agent::client
