// The webhook over HTTPS (operator/webhook_server.h): reviews answered with the injector, HTTP
// errors for what is not a review, and certificate rotation while admissions run in a loop:
// none fails. The client checks the server as an API server does: the caBundle as the CA set,
// the Service's DNS name as the host name (SNI and verification), one connection per review.

#include "operator/webhook_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "operator/injector.h"
#include "operator/webhook_keeper.h"

namespace cairn::op {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::seconds;

const char kHost[] = "cairn-webhook.cairn.svc";
const SystemTime kStart = std::chrono::system_clock::now();

struct Reply {
  int status = 0;
  std::string body;
  std::string error;  // transport or TLS failure
};

// One POST over a new TLS connection that trusts `bundle` and checks `kHost`.
Reply post(int port, const std::string& bundle, const std::string& target, const std::string& body,
           bhttp::verb method = bhttp::verb::post) {
  Reply reply;
  try {
    asio::io_context io;
    ssl::context ctx(ssl::context::tls_client);
    ctx.add_certificate_authority(asio::buffer(bundle));
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    SSL_set_tlsext_host_name(stream.native_handle(), kHost);
    stream.set_verify_callback(ssl::host_name_verification(kHost));
    beast::get_lowest_layer(stream).expires_after(seconds(10));
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)));
    stream.handshake(ssl::stream_base::client);
    bhttp::request<bhttp::string_body> req(method, target, 11);
    req.set(bhttp::field::host, kHost);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream, buffer, res);
    reply.status = res.result_int();
    reply.body = res.body();
    beast::error_code ignored;
    stream.shutdown(ignored);
  } catch (const std::exception& e) {
    reply.error = e.what();
  }
  return reply;
}

std::string review(const std::string& uid) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":")" +
         uid +
         R"(","kind":{"kind":"Pod"},"namespace":"shop","operation":"CREATE","object":{
         "metadata":{"name":"web-1","annotations":{"cairn.io/inject":"true"}},
         "spec":{"containers":[{"name":"app"}]}}}})";
}

CertOptions certOptions() {
  CertOptions o;
  o.service = "cairn-webhook";
  o.name_space = "cairn";
  // Clients verify with the real clock while the keeper runs on a fake one that moves 1,500 s:
  // certificates long enough to be valid in real time at every fake moment, renewed after 600 s.
  o.ca_validity = seconds(20000);
  o.serving_validity = seconds(3000);
  o.renew_before = seconds(2400);
  o.switch_after = seconds(20);
  o.drop_after = seconds(40);
  return o;
}

void serveInjector(WebhookServer& server) {
  server.handle("/mutate-pods", [](const std::string& body) {
    AdmissionResult r = admit(body, {}, [](const std::string&) { return Labels{}; });
    return WebhookResponse{r.http_status, r.review.serialize()};
  });
}

TEST(WebhookServer, AnswersReviewsAndRefusesTheRest) {
  WebhookServerOptions options;
  options.max_body = 2048;
  WebhookServer server(options);
  serveInjector(server);
  ASSERT_TRUE(server.start("127.0.0.1", 0).isOk());
  EXPECT_FALSE(server.hasCertificate());
  CertState state;
  ASSERT_TRUE(advanceRotation(state, kStart, certOptions()).isOk());
  // Without a certificate, connections are closed: the client sees a failure, not a hang.
  Reply none = post(server.port(), state.caBundle(), "/mutate-pods", review("u0"));
  EXPECT_FALSE(none.error.empty());
  ASSERT_TRUE(server.setCertificate(state.serving).isOk());
  Reply ok = post(server.port(), state.caBundle(), "/mutate-pods", review("u1"));
  ASSERT_EQ(ok.error, "");
  EXPECT_EQ(ok.status, 200);
  auto body = web::json::value::parse(ok.body);
  EXPECT_EQ(body.at("response").at("uid").as_string(), "u1");
  EXPECT_TRUE(body.at("response").has_field("patch"));
  EXPECT_EQ(post(server.port(), state.caBundle(), "/mutate-pods", "{").status, 400);
  EXPECT_EQ(post(server.port(), state.caBundle(), "/other", review("u")).status, 404);
  EXPECT_EQ(post(server.port(), state.caBundle(), "/mutate-pods", "", bhttp::verb::get).status,
            405);
  EXPECT_EQ(post(server.port(), state.caBundle(), "/mutate-pods", std::string(4096, 'x')).status,
            413);
  // A client that trusts another CA refuses the server.
  auto other = makeCa("other", kStart, seconds(1000));
  EXPECT_FALSE(post(server.port(), other->cert_pem, "/mutate-pods", review("u")).error.empty());
  // A bad certificate is refused and the good one stays.
  EXPECT_FALSE(server.setCertificate({"junk", "junk"}).isOk());
  EXPECT_EQ(post(server.port(), state.caBundle(), "/mutate-pods", review("u2")).status, 200);
  server.stop();
}

// Two full rotations with a fake clock while clients post reviews in a loop. Each client uses
// either the newest published bundle or the one published 10 fake seconds earlier (an API
// server that has not seen the newest configuration yet; switch_after is 20 s). Not one review
// may fail.
TEST(WebhookServer, RotationWhileAdmissionsRunLosesNone) {
  WebhookServer server;
  serveInjector(server);
  ASSERT_TRUE(server.start("127.0.0.1", 0).isOk());

  std::mutex mu;
  std::condition_variable cv;
  std::optional<CertState> secret;
  std::string bundle, previous_bundle;
  SystemTime now = kStart - seconds(1300);  // up to kStart + 200 s at the end
  uint64_t done = 0;
  uint64_t done_by[2] = {0, 0};
  WebhookCertKeeper::Deps deps;
  deps.load = [&]() -> StatusOr<std::optional<CertState>> { return secret; };
  deps.save = [&](const CertState& s) {
    secret = s;
    return Status::ok();
  };
  deps.read_bundle = [&]() -> StatusOr<std::string> {
    std::lock_guard<std::mutex> lock(mu);
    return bundle;
  };
  deps.write_bundle = [&](const std::string& pem) {
    std::lock_guard<std::mutex> lock(mu);
    bundle = pem;
    if (previous_bundle.empty()) previous_bundle = pem;
    return Status::ok();
  };
  deps.serve = [&](const KeyPair& p) { return server.setCertificate(p); };
  deps.now = [&] { return now; };
  WebhookCertKeeper keeper(deps, certOptions());
  ASSERT_TRUE(keeper.sync(true).isOk());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> failures{0};
  std::string first_failure;
  std::vector<std::thread> clients;
  for (int c = 0; c < 2; ++c) {
    clients.emplace_back([&, c] {
      for (uint64_t i = 0; !stop; ++i) {
        std::string trust;
        {
          std::lock_guard<std::mutex> lock(mu);
          trust = (i + c) % 2 == 0 ? bundle : previous_bundle;
        }
        std::string uid = std::to_string(c) + "-" + std::to_string(i);
        Reply r = post(server.port(), trust, "/mutate-pods", review(uid));
        bool ok = r.error.empty() && r.status == 200 &&
                  r.body.find("\"uid\":\"" + uid + "\"") != std::string::npos;
        std::lock_guard<std::mutex> lock(mu);
        if (!ok && failures++ == 0) first_failure = r.error + " " + r.body;
        ++done;
        ++done_by[c];
        cv.notify_all();
      }
    });
  }
  std::vector<RotationStep> steps;
  for (int tick = 0; tick < 150; ++tick) {
    // Let some reviews through at this moment before time moves on.
    {
      std::unique_lock<std::mutex> lock(mu);
      // Every client finishes a review here, so none that started before this tick is still in
      // flight at the next one: a client's bundle is never more than one tick (10 s) old.
      uint64_t target = done + 3, first = done_by[0] + 1, second = done_by[1] + 1;
      ASSERT_TRUE(cv.wait_for(lock, seconds(30), [&] {
        return done >= target && done_by[0] >= first && done_by[1] >= second;
      }));
      previous_bundle = bundle;  // what a lagging API server still uses for the next 10 s
      now += seconds(10);
    }
    auto step = keeper.sync(true);
    ASSERT_TRUE(step.isOk()) << step.status().toString();
    if (*step != RotationStep::kNone) steps.push_back(*step);
  }
  stop = true;
  for (auto& t : clients) t.join();
  server.stop();
  EXPECT_EQ(failures.load(), 0u) << first_failure;
  // 1,500 fake seconds of certificates renewed after 600 seconds: two rotations.
  std::vector<RotationStep> want = {RotationStep::kStaged,   RotationStep::kSwitched,
                                    RotationStep::kDropped,  RotationStep::kStaged,
                                    RotationStep::kSwitched, RotationStep::kDropped};
  EXPECT_EQ(steps, want);
  EXPECT_GT(done, 450u);
}

}  // namespace
}  // namespace cairn::op
