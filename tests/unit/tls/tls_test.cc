// core/tls: certificates as `consul tls` makes them, the checks of the configured files, mutual
// TLS on gRPC (RpcTls: refused peers, hostname checks, reload) and HTTPS on HttpServer
// (verify_incoming, setTls), all on loopback with certificates made here.
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "cairn/v1/agent_rpc.grpc.pb.h"
#include "core/client/api_client.h"
#include "core/http/body_stream.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/metrics/metrics.h"
#include "core/tls/cert_gen.h"
#include "core/tls/material.h"
#include "core/tls/rpc_tls.h"

namespace cairn::tls {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A scratch directory with a CA and certificates written as files.
class Dir {
 public:
  Dir() {
    path_ = fs::temp_directory_path() /
            ("cairn-tls-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~Dir() { fs::remove_all(path_); }
  std::string write(const std::string& name, const std::string& data) {
    std::string p = (path_ / name).string();
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
    return p;
  }
  std::string path(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

PemPair makeCa() {
  auto ca = createCa({});
  EXPECT_TRUE(ca.isOk()) << ca.status().message();
  return *ca;
}

PemPair makeCert(const PemPair& ca, bool server, std::string dc = "dc1") {
  CertRequest r;
  r.server = server;
  r.datacenter = std::move(dc);
  auto cert = createCert(ca, r);
  EXPECT_TRUE(cert.isOk()) << cert.status().message();
  return *cert;
}

// TlsSettings naming files in `dir`: `ca` and, when given, the pair `id` as base name.
TlsSettings settingsFor(Dir& dir, const std::string& tag, const PemPair& ca, const PemPair* id) {
  TlsSettings s;
  s.ca_file = dir.write(tag + "-ca.pem", ca.cert);
  if (id != nullptr) {
    s.cert_file = dir.write(tag + "-cert.pem", id->cert);
    s.key_file = dir.write(tag + "-key.pem", id->key);
  }
  return s;
}

std::vector<std::string> sans(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS) {
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.dNSName)));
    } else if (n->type == GEN_IPADD && ASN1_STRING_length(n->d.iPAddress) == 4) {
      const unsigned char* b = ASN1_STRING_get0_data(n->d.iPAddress);
      out.push_back(std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) +
                    "." + std::to_string(b[3]));
    }
  }
  GENERAL_NAMES_free(names);
  X509_free(cert);
  return out;
}

TEST(CertGen, ServerCertificateCarriesConsulNames) {
  PemPair ca = makeCa();
  CertRequest r;
  r.server = true;
  r.datacenter = "east";
  r.extra_dns = {"cairn.example.com"};
  r.extra_ips = {"10.0.0.7"};
  auto cert = createCert(ca, r);
  ASSERT_TRUE(cert.isOk()) << cert.status().message();
  EXPECT_EQ(sans(cert->cert),
            (std::vector<std::string>{"server.east.consul", "localhost", "cairn.example.com",
                                      "127.0.0.1", "10.0.0.7"}));
  EXPECT_EQ(sans(makeCert(ca, false).cert)[0], "client.dc1.consul");
}

TEST(CertGen, RefusesBadInput) {
  PemPair ca = makeCa();
  CertRequest r;
  r.extra_ips = {"not-an-ip"};
  EXPECT_FALSE(createCert(ca, r).isOk());
  PemPair other = makeCa();
  EXPECT_FALSE(createCert({ca.cert, other.key}, {}).isOk());  // key of another CA
  EXPECT_FALSE(createCert({"junk", "junk"}, {}).isOk());
}

TEST(Material, NamesTheKeyAndPathOfABadFile) {
  Dir dir;
  PemPair ca = makeCa();
  PemPair server = makeCert(ca, true);
  TlsSettings s = settingsFor(dir, "a", ca, &server);
  ASSERT_TRUE(loadMaterial(s).isOk());

  TlsSettings missing = s;
  missing.cert_file = dir.path("nope.pem");
  missing.cert_file_key = "tls.https.cert_file";
  auto st = loadMaterial(missing).status();
  EXPECT_NE(st.message().find("tls.https.cert_file: cannot read " + dir.path("nope.pem")),
            std::string::npos)
      << st.message();

  TlsSettings mismatch = s;
  mismatch.key_file = dir.write("other-key.pem", makeCert(ca, true).key);
  EXPECT_NE(loadMaterial(mismatch).status().message().find("does not match"), std::string::npos);

  TlsSettings foreign = s;
  foreign.ca_file = dir.write("other-ca.pem", makeCa().cert);
  EXPECT_NE(loadMaterial(foreign).status().message().find("is not valid under the CA"),
            std::string::npos);

  TlsSettings garbage = s;
  garbage.ca_file = dir.write("garbage.pem", "hello");
  EXPECT_NE(loadMaterial(garbage).status().message().find("holds no PEM certificate"),
            std::string::npos);
}

// ---- gRPC ----

class EchoDns final : public v1::ClientRpc::Service {
  grpc::Status Dns(grpc::ServerContext*, const v1::DnsQuery* q, v1::DnsReply* r) override {
    r->set_packet(q->packet());
    return grpc::Status::OK;
  }
};

class RpcServer {
 public:
  explicit RpcServer(const RpcTls& tls) {
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", tls.serverCredentials(), &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
  }
  ~RpcServer() { server_->Shutdown(std::chrono::system_clock::now() + 1s); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  EchoDns service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

// One call on a fresh channel.
bool call(const RpcTls& tls, const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt("cairn.test_fresh", std::rand());  // no subchannel shared with earlier calls
  auto stub = v1::ClientRpc::NewStub(createChannel(&tls, address, args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::DnsQuery q;
  q.set_packet("ping");
  v1::DnsReply r;
  return stub->Dns(&ctx, q, &r).ok() && r.packet() == "ping";
}

std::shared_ptr<RpcTls> rpcTls(const TlsSettings& s, bool serves) {
  auto t = RpcTls::create(s, serves, "server.dc1.consul");
  EXPECT_TRUE(t.isOk()) << t.status().message();
  return t.isOk() ? *t : nullptr;
}

TEST(RpcTls, NoCaMeansPlainGrpc) {
  auto t = RpcTls::create(TlsSettings{}, true, "server.dc1.consul");
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(*t, nullptr);
}

TEST(RpcTls, VerifyIncomingRefusesClientsWithoutAGoodCertificate) {
  Dir dir;
  PemPair ca = makeCa();
  PemPair server = makeCert(ca, true), client = makeCert(ca, false);
  TlsSettings ss = settingsFor(dir, "s", ca, &server);
  ss.verify_incoming = true;
  auto server_tls = rpcTls(ss, true);
  RpcServer rpc(*server_tls);

  EXPECT_TRUE(call(*rpcTls(settingsFor(dir, "c", ca, &client), false), rpc.address()));
  EXPECT_TRUE(call(*server_tls, rpc.address()));  // server to server
  EXPECT_FALSE(call(*rpcTls(settingsFor(dir, "n", ca, nullptr), false), rpc.address()));
  PemPair other_ca = makeCa();
  PemPair stranger = makeCert(other_ca, true);
  // (A certificate must chain to the CA configured beside it, so a stranger has its own CA.)
  EXPECT_FALSE(call(*rpcTls(settingsFor(dir, "f", other_ca, &stranger), false), rpc.address()));
}

TEST(RpcTls, ClientRefusesAServerOfAnotherCa) {
  Dir dir;
  PemPair ca = makeCa(), other_ca = makeCa();
  PemPair server = makeCert(other_ca, true), client = makeCert(ca, false);
  auto server_tls = rpcTls(settingsFor(dir, "s", other_ca, &server), true);
  RpcServer rpc(*server_tls);
  EXPECT_FALSE(call(*rpcTls(settingsFor(dir, "c", ca, &client), false), rpc.address()));
}

TEST(RpcTls, VerifyServerHostnameWantsServerDcDomain) {
  Dir dir;
  PemPair ca = makeCa();
  PemPair client_cert = makeCert(ca, false);
  // A server of another datacenter: right CA, wrong name (server.dc2.consul).
  PemPair other_dc = makeCert(ca, true, "dc2");
  auto impostor = rpcTls(settingsFor(dir, "i", ca, &other_dc), true);
  PemPair real = makeCert(ca, true);
  auto server_tls = rpcTls(settingsFor(dir, "s", ca, &real), true);
  RpcServer impostor_rpc(*impostor), real_rpc(*server_tls);
  TlsSettings cs = settingsFor(dir, "c", ca, &client_cert);
  cs.verify_server_hostname = true;
  auto client = rpcTls(cs, false);
  EXPECT_TRUE(call(*client, real_rpc.address()));
  EXPECT_FALSE(call(*client, impostor_rpc.address()));
  cs.verify_server_hostname = false;  // Consul's default: any certificate of the CA
  EXPECT_TRUE(call(*rpcTls(cs, false), impostor_rpc.address()));
}

TEST(RpcTls, ReloadSwitchesCertificatesForNewConnections) {
  Dir dir;
  PemPair ca1 = makeCa(), ca2 = makeCa();
  PemPair server1 = makeCert(ca1, true), server2 = makeCert(ca2, true);
  TlsSettings first = settingsFor(dir, "one", ca1, &server1);
  first.verify_incoming = true;
  auto server_tls = rpcTls(first, true);
  RpcServer rpc(*server_tls);
  PemPair client1 = makeCert(ca1, false), client2 = makeCert(ca2, false);
  auto old_client = rpcTls(settingsFor(dir, "c1", ca1, &client1), false);
  auto new_client = rpcTls(settingsFor(dir, "c2", ca2, &client2), false);
  EXPECT_TRUE(call(*old_client, rpc.address()));
  EXPECT_FALSE(call(*new_client, rpc.address()));

  TlsSettings broken = first;
  broken.cert_file = dir.path("missing.pem");
  EXPECT_FALSE(server_tls->reload(broken).isOk());  // nothing changes
  EXPECT_TRUE(call(*old_client, rpc.address()));

  TlsSettings second = settingsFor(dir, "two", ca2, &server2);
  second.verify_incoming = true;
  ASSERT_TRUE(server_tls->reload(second).isOk());
  auto deadline = std::chrono::steady_clock::now() + 10s;  // gRPC looks again every second
  bool switched = false;
  while (!switched && std::chrono::steady_clock::now() < deadline) {
    switched = call(*new_client, rpc.address());
  }
  EXPECT_TRUE(switched);
  EXPECT_FALSE(call(*old_client, rpc.address()));
}

// ---- HTTPS ----

class HttpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(http::Route{
        "/v1/ping",
        false,
        {"GET"},
        [](http::RequestPtr, http::Responder respond) { respond(http::textResponse(200, "pong")); },
        http::Router::kDefaultMaxBody});
    // A streamed answer (GET /v1/agent/monitor's kind): "one\n" at once, the rest from the test.
    router_.add(http::Route{"/v1/stream",
                            false,
                            {"GET"},
                            [this](http::RequestPtr, http::Responder respond) {
                              auto stream = std::make_shared<http::BodyStream>();
                              stream->write("one\n");
                              stream->onClose([this] {
                                std::lock_guard lock(mu_);
                                ++closed_;
                                cv_.notify_all();
                              });
                              {
                                std::lock_guard lock(mu_);
                                stream_ = stream;
                              }
                              http::HttpResponse r;
                              r.content_type = "text/plain";
                              r.stream = std::move(stream);
                              respond(std::move(r));
                            },
                            http::Router::kDefaultMaxBody});
  }
  // The API client for `ca`'s server (no client certificate).
  client::ApiClient api(const PemPair& ca) {
    client::HttpOptions o;
    o.http_addr = "https://127.0.0.1:" + std::to_string(server_->port());
    o.ca_file = dir_.write("trust-" + std::to_string(n_++) + ".pem", ca.cert);
    auto api = client::ApiClient::create(o, [](const std::string&) { return std::nullopt; });
    EXPECT_TRUE(api.isOk());
    return api->withTimeout(10s);
  }
  std::shared_ptr<http::BodyStream> lastStream() {
    std::lock_guard lock(mu_);
    return stream_;
  }
  bool closedWithin(int n, std::chrono::seconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return closed_ >= n; });
  }
  void start(const PemPair& ca, const PemPair& server, bool verify_incoming) {
    http::HttpServerOptions o;
    o.threads = 2;
    o.tls = http::HttpTlsOptions{ca.cert, server.cert, server.key, verify_incoming, "TLSv1_2"};
    server_ = std::make_unique<http::HttpServer>(router_, metrics_, o);
    ASSERT_TRUE(server_->start("127.0.0.1", 0).isOk());
  }
  // GET /v1/ping with `ca` and, when given, a client certificate; the status, 0 on failure.
  int get(const PemPair& ca, const PemPair* client) {
    client::HttpOptions o;
    o.http_addr = "https://127.0.0.1:" + std::to_string(server_->port());
    o.ca_file = dir_.write("trust-" + std::to_string(n_++) + ".pem", ca.cert);
    if (client != nullptr) {
      o.client_cert = dir_.write("cc-" + std::to_string(n_) + ".pem", client->cert);
      o.client_key = dir_.write("ck-" + std::to_string(n_) + ".pem", client->key);
    }
    auto api = client::ApiClient::create(o, [](const std::string&) { return std::nullopt; });
    if (!api.isOk()) return -1;
    auto r = api->withTimeout(5s).send("GET", "/v1/ping", {});
    return r.isOk() ? r->status : 0;
  }

  Dir dir_;
  int n_ = 0;
  http::Router router_;
  metrics::Metrics metrics_{"test", "test"};
  // Before server_: a stream the server closes while stopping still finds them.
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<http::BodyStream> stream_;  // the last /v1/stream answer's body
  int closed_ = 0;                            // streams closed so far
  std::unique_ptr<http::HttpServer> server_;
};

TEST_F(HttpsTest, ServesWithTheCaAndRefusesOthers) {
  PemPair ca = makeCa();
  start(ca, makeCert(ca, true), false);
  EXPECT_EQ(get(ca, nullptr), 200);
  EXPECT_EQ(get(makeCa(), nullptr), 0);  // the client does not trust this server
}

TEST_F(HttpsTest, VerifyIncomingWantsAClientCertificate) {
  PemPair ca = makeCa();
  start(ca, makeCert(ca, true), true);
  PemPair client = makeCert(ca, false);
  EXPECT_EQ(get(ca, &client), 200);
  EXPECT_EQ(get(ca, nullptr), 0);
  PemPair other_ca = makeCa();
  PemPair stranger = makeCert(other_ca, false);
  EXPECT_EQ(get(ca, &stranger), 0);
}

TEST_F(HttpsTest, SetTlsSwitchesNewHandshakes) {
  PemPair ca1 = makeCa(), ca2 = makeCa();
  start(ca1, makeCert(ca1, true), false);
  EXPECT_EQ(get(ca1, nullptr), 200);
  PemPair server2 = makeCert(ca2, true);
  EXPECT_FALSE(server_->setTls({ca2.cert, "junk", server2.key, false, "TLSv1_2"}).isOk());
  EXPECT_EQ(get(ca1, nullptr), 200);
  ASSERT_TRUE(server_->setTls({ca2.cert, server2.cert, server2.key, false, "TLSv1_2"}).isOk());
  EXPECT_EQ(get(ca2, nullptr), 200);
  EXPECT_EQ(get(ca1, nullptr), 0);
}

// A streamed body over HTTPS: pieces arrive as written, the end of the body ends the call, and
// a client that stops reading and leaves mid-stream closes the producer's stream.
TEST_F(HttpsTest, StreamsABodyAndNoticesTheClientLeaving) {
  PemPair ca = makeCa();
  start(ca, makeCert(ca, true), false);
  std::string got;
  auto r = api(ca).stream("/v1/stream", {}, [&](std::string_view piece) {
    got.append(piece);
    if (got == "one\n") {
      lastStream()->write("two\n");
      lastStream()->finish();
    }
    return true;
  });
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(got, "one\ntwo\n");
  ASSERT_TRUE(closedWithin(1, 10s));

  // A TLS client that reads the first piece and closes its socket (no close_notify), as a
  // killed `cairn monitor` does. (ApiClient keeps its connection until its timeout.)
  {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_verify_mode(asio::ssl::verify_none);
    asio::ssl::stream<asio::ip::tcp::socket> tls(io, ctx);
    tls.next_layer().connect(
        {asio::ip::make_address("127.0.0.1"), static_cast<uint16_t>(server_->port())});
    tls.handshake(asio::ssl::stream_base::client);
    asio::write(tls, asio::buffer(std::string("GET /v1/stream HTTP/1.1\r\nHost: t\r\n\r\n")));
    std::string in;
    asio::read_until(tls, asio::dynamic_buffer(in), "one\n");
    EXPECT_NE(in.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
    tls.next_layer().close();
  }
  EXPECT_TRUE(closedWithin(2, 5s)) << "the server did not notice the client leaving";
  EXPECT_FALSE(lastStream()->write("nobody reads this"));
}

}  // namespace
}  // namespace cairn::tls
