// The real probers against servers started here on 127.0.0.1 (ephemeral ports) and real scripts.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <gtest/gtest.h>

#include <future>

#include "core/health/async_prober_factory.h"
#include "core/health/check_runner.h"
#include "tests/unit/health/loopback_http_server.h"

namespace cairn::health {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackHttpServer;

constexpr auto kWait = 30s;  // generous: the machine may be busy

class ProbersTest : public ::testing::Test {
 protected:
  // Runs one probe of `d` (normalized here) and waits for its verdict.
  ProbeResult probe(CheckDefinition d) {
    StatusOr<CheckDefinition> n = d.normalized();
    if (!n.isOk()) {
      ADD_FAILURE() << n.status().toString();
      return {};
    }
    StatusOr<std::shared_ptr<Prober>> prober = factory_.create(*n);
    if (!prober.isOk()) {
      ADD_FAILURE() << prober.status().toString();
      return {};
    }
    auto promise = std::make_shared<std::promise<ProbeResult>>();
    auto future = promise->get_future();
    (*prober)->start([promise](ProbeResult r) { promise->set_value(std::move(r)); });
    if (future.wait_for(kWait) != std::future_status::ready) {
      ADD_FAILURE() << "probe did not finish";
      return {};
    }
    return future.get();
  }
  static CheckDefinition http(const std::string& url) {
    CheckDefinition d;
    d.http = url;
    d.interval = 10s;
    return d;
  }
  static CheckDefinition script(std::vector<std::string> args) {
    CheckDefinition d;
    d.script_args = std::move(args);
    d.interval = 10s;
    return d;
  }

  AsyncProberFactory factory_;
};

TEST_F(ProbersTest, Http200IsPassingWithConsulOutput) {
  LoopbackHttpServer server;
  ProbeResult r = probe(http(server.url("/ok")));
  EXPECT_EQ(r.status, CheckStatus::kPassing);
  EXPECT_EQ(r.output, "HTTP GET " + server.url("/ok") + ": 200 OK Output: hello");
}

TEST_F(ProbersTest, Http429IsWarningAnd500Critical) {
  LoopbackHttpServer server;
  ProbeResult busy = probe(http(server.url("/busy")));
  EXPECT_EQ(busy.status, CheckStatus::kWarning);
  EXPECT_EQ(busy.output,
            "HTTP GET " + server.url("/busy") + ": 429 Too Many Requests Output: slow down");
  ProbeResult fail = probe(http(server.url("/fail")));
  EXPECT_EQ(fail.status, CheckStatus::kCritical);
  EXPECT_NE(fail.output.find(": 500 Internal Server Error Output: broken"), std::string::npos)
      << fail.output;
}

TEST_F(ProbersTest, HttpSendsMethodHeadersAndBody) {
  LoopbackHttpServer server;
  CheckDefinition d = http(server.url("/echo"));
  d.method = "POST";
  d.body = "ping";
  d.header = {{"X-Test", {"a", "b"}}};
  ProbeResult r = probe(d);
  EXPECT_EQ(r.status, CheckStatus::kPassing);
  EXPECT_EQ(r.output.rfind("HTTP POST " + server.url("/echo") + ": 200 OK Output: POST\n", 0), 0u)
      << r.output;
  EXPECT_NE(r.output.find("User-Agent:Consul Health Check\r\n"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Accept:text/plain, text/*, */*\r\n"), std::string::npos);
  EXPECT_NE(r.output.find("X-Test:a"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Connection:close"), std::string::npos);
  EXPECT_EQ(r.output.find("Content-Type"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.substr(r.output.size() - 5), "\nping");
}

TEST_F(ProbersTest, HttpUserAgentAndAcceptCanBeOverridden) {
  LoopbackHttpServer server;
  CheckDefinition d = http(server.url("/echo"));
  d.header = {{"User-Agent", {"mine"}}, {"Accept", {"application/json"}}};
  ProbeResult r = probe(d);
  EXPECT_NE(r.output.find("User-Agent:mine\r\n"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("Consul Health Check"), std::string::npos);
  EXPECT_EQ(r.output.find("text/plain"), std::string::npos);
}

TEST_F(ProbersTest, HttpRedirects) {
  LoopbackHttpServer server;
  ProbeResult followed = probe(http(server.url("/redirect")));
  EXPECT_EQ(followed.status, CheckStatus::kPassing);
  EXPECT_EQ(followed.output, "HTTP GET " + server.url("/redirect") + ": 200 OK Output: hello");
  CheckDefinition d = http(server.url("/redirect"));
  d.disable_redirects = true;
  ProbeResult kept = probe(d);
  EXPECT_EQ(kept.status, CheckStatus::kCritical);
  EXPECT_NE(kept.output.find(": 302 Found Output: "), std::string::npos) << kept.output;
  ProbeResult loop = probe(http(server.url("/loop")));
  EXPECT_EQ(loop.status, CheckStatus::kCritical);
  EXPECT_NE(loop.output.find("stopped after 10 redirects"), std::string::npos) << loop.output;
}

TEST_F(ProbersTest, HttpBodyKeepsTheLastBytes) {
  LoopbackHttpServer server;
  CheckDefinition d = http(server.url("/big"));
  d.output_max_size = 15;
  ProbeResult r = probe(d);
  EXPECT_EQ(r.output, "HTTP GET " + server.url("/big") + ": 200 OK Output: 567890123456789");
}

TEST_F(ProbersTest, HttpTimeoutIsCritical) {
  LoopbackHttpServer server;
  CheckDefinition d = http(server.url("/slow"));
  d.timeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  ProbeResult r = probe(d);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_NE(r.output.find("GET \"" + server.url("/slow") + "\": "), std::string::npos) << r.output;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
}

TEST_F(ProbersTest, HttpConnectionRefusedIsCritical) {
  uint16_t port;
  {
    LoopbackHttpServer server;
    port = server.port();
  }
  ProbeResult r = probe(http("http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_FALSE(r.output.empty());
}

TEST_F(ProbersTest, HttpCancelInFlightIsSafe) {
  LoopbackHttpServer server;
  CheckDefinition d = http(server.url("/slow"));
  StatusOr<CheckDefinition> n = d.normalized();
  auto prober = factory_.create(*n);
  ASSERT_TRUE(prober.isOk());
  auto promise = std::make_shared<std::promise<void>>();
  (*prober)->start([promise](ProbeResult) { promise->set_value(); });
  (*prober)->cancel();
  prober.value().reset();
  // The cancelled request finishes (with an error) without touching the destroyed prober.
  EXPECT_EQ(promise->get_future().wait_for(kWait), std::future_status::ready);
}

TEST_F(ProbersTest, TcpOpenPortIsPassing) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::string addr = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  CheckDefinition d;
  d.tcp = addr;
  d.interval = 10s;
  ProbeResult r = probe(d);
  EXPECT_EQ(r.status, CheckStatus::kPassing);
  EXPECT_EQ(r.output, "TCP connect " + addr + ": Success");
  d.tcp = "localhost:" + std::to_string(acceptor.local_endpoint().port());  // via the resolver
  EXPECT_EQ(probe(d).status, CheckStatus::kPassing);
}

TEST_F(ProbersTest, TcpClosedPortIsCritical) {
  uint16_t port;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }
  CheckDefinition d;
  d.tcp = "127.0.0.1:" + std::to_string(port);
  d.interval = 10s;
  ProbeResult r = probe(d);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.output, "dial tcp " + d.tcp + ": connect: connection refused");
}

class GrpcHealthServer {
 public:
  GrpcHealthServer() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.RegisterCallbackGenericService(&generic_);  // the health service needs a polled CQ
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    EXPECT_NE(port_, 0);
  }
  ~GrpcHealthServer() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }
  std::string target(const std::string& service = "") const {
    return "127.0.0.1:" + std::to_string(port_) + (service.empty() ? "" : "/" + service);
  }
  void set(const std::string& service, bool serving) {
    server_->GetHealthCheckService()->SetServingStatus(service, serving);
  }

 private:
  grpc::CallbackGenericService generic_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ProbersTest, GrpcHealthProtocol) {
  GrpcHealthServer server;
  CheckDefinition d;
  d.interval = 10s;
  d.grpc = server.target();
  ProbeResult overall = probe(d);
  EXPECT_EQ(overall.status, CheckStatus::kPassing);
  EXPECT_EQ(overall.output, "gRPC check " + d.grpc + ": success");

  server.set("web", true);
  d.grpc = server.target("web");
  EXPECT_EQ(probe(d).status, CheckStatus::kPassing);
  server.set("web", false);
  ProbeResult down = probe(d);
  EXPECT_EQ(down.status, CheckStatus::kCritical);
  EXPECT_EQ(down.output, "gRPC " + d.grpc + " serving status: NOT_SERVING");

  d.grpc = server.target("unknown");
  ProbeResult unknown = probe(d);
  EXPECT_EQ(unknown.status, CheckStatus::kCritical);
  EXPECT_EQ(unknown.output.rfind("rpc error: code = NotFound", 0), 0u) << unknown.output;
}

TEST_F(ProbersTest, GrpcUnreachableIsCritical) {
  uint16_t port;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = acceptor.local_endpoint().port();
  }
  CheckDefinition d;
  d.interval = 10s;
  d.timeout = 2s;
  d.grpc = "127.0.0.1:" + std::to_string(port);
  ProbeResult r = probe(d);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_EQ(r.output.rfind("rpc error: code = ", 0), 0u) << r.output;
}

TEST_F(ProbersTest, ScriptExitCodes) {
  ProbeResult ok = probe(script({"/bin/sh", "-c", "echo hello; echo oops >&2"}));
  EXPECT_EQ(ok.status, CheckStatus::kPassing);
  EXPECT_EQ(ok.output, "hello\noops\n");
  EXPECT_EQ(probe(script({"/bin/sh", "-c", "exit 1"})).status, CheckStatus::kWarning);
  EXPECT_EQ(probe(script({"/bin/sh", "-c", "exit 2"})).status, CheckStatus::kCritical);
  EXPECT_EQ(probe(script({"/bin/sh", "-c", "kill -9 $$"})).status, CheckStatus::kCritical);
  EXPECT_EQ(probe(script({"true"})).status, CheckStatus::kPassing);  // PATH lookup, no shell
}

TEST_F(ProbersTest, ScriptOutputIsCapped) {
  CheckDefinition d = script({"/bin/sh", "-c", "printf 0123456789abcdefghij"});
  d.output_max_size = 5;
  EXPECT_EQ(probe(d).output, "Captured 5 of 20 bytes\n...\nfghij");
}

TEST_F(ProbersTest, ScriptTimeoutKillsTheProcessGroup) {
  CheckDefinition d = script({"/bin/sh", "-c", "echo started; sleep 60 & sleep 60; wait"});
  d.timeout = 300ms;
  auto started = std::chrono::steady_clock::now();
  ProbeResult r = probe(d);
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_TRUE(r.bypass_thresholds);
  EXPECT_EQ(r.output, "Timed out (300ms) running check\n\nstarted\n");
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
}

TEST_F(ProbersTest, ScriptThatCannotStartIsCritical) {
  ProbeResult r = probe(script({"/nonexistent/cairn-check"}));
  EXPECT_EQ(r.status, CheckStatus::kCritical);
  EXPECT_TRUE(r.bypass_thresholds);
  EXPECT_EQ(r.output, "exec: \"/nonexistent/cairn-check\": No such file or directory");
}

TEST_F(ProbersTest, ScriptCancelInFlightIsSafe) {
  StatusOr<CheckDefinition> n = script({"/bin/sh", "-c", "sleep 60"}).normalized();
  auto prober = factory_.create(*n);
  ASSERT_TRUE(prober.isOk());
  (*prober)->start([](ProbeResult) { ADD_FAILURE() << "a cancelled script reported"; });
  (*prober)->cancel();
  prober.value().reset();
  // Run another probe on the same io thread: it completes, so the cancel did not wedge anything.
  EXPECT_EQ(probe(script({"true"})).status, CheckStatus::kPassing);
}

TEST(CheckRunnerEndToEnd, TcpAndTtlChecksOnTheRealScheduler) {
  SystemClock clock;
  TimerQueue timers;
  TimerQueueScheduler scheduler(clock, timers);
  SeededRandom random(1);
  AsyncProberFactory probers;
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, CheckStatus> seen;
  CheckRunner runner({&scheduler, &random, &probers},
                     [&](const std::string& id, CheckStatus s, const std::string&) {
                       std::lock_guard lock(mu);
                       seen[id] = s;
                       cv.notify_all();
                     });
  CheckDefinition tcp;
  tcp.tcp = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  tcp.interval = 1s;
  ASSERT_TRUE(runner.add("tcp", tcp).isOk());
  CheckDefinition ttl;
  ttl.ttl = 200ms;
  ASSERT_TRUE(runner.add("ttl", ttl).isOk());
  ASSERT_TRUE(runner.ttlUpdate("ttl", CheckStatus::kPassing, "fine").isOk());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, kWait, [&] {
    return seen.count("tcp") && seen["tcp"] == CheckStatus::kPassing &&
           seen["ttl"] == CheckStatus::kCritical;
  }));
  lock.unlock();
  EXPECT_EQ(runner.status("ttl")->output, "TTL expired (last output before timeout follows): fine");
}

}  // namespace
}  // namespace cairn::health
