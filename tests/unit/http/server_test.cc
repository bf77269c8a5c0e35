// HttpServer over loopback sockets with short limits: keep-alive, pipelining order, rejections
// that close, header and idle timeouts, the connection limit, early 413, HEAD.
#include "core/http/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/http/body_stream.h"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;
using namespace std::string_literals;

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

// A blocking loopback client; every read gives up after 10 s so a hang fails instead of stalling.
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { ::close(fd_); }

  bool connected() const { return connected_; }

  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }

  // One response; status 0 when the connection ended (or timed out) first. `head_only`: the
  // answer to a HEAD request (Content-Length without a body).
  Reply read(bool head_only = false) {
    Reply r;
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) return r;
    }
    r.head = buf_.substr(0, end + 4);
    buf_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    size_t cl = r.head.find("Content-Length: ");
    size_t len = cl == std::string::npos ? 0 : std::stoul(r.head.substr(cl + 16));
    if (head_only) len = 0;
    while (buf_.size() < len) {
      if (!fill()) return Reply{};
    }
    r.body = buf_.substr(0, len);
    buf_.erase(0, len);
    return r;
  }

  // Reads until the bytes received contain `needle` (false on EOF or timeout first).
  bool readUntil(std::string_view needle) {
    while (buf_.find(needle) == std::string::npos) {
      if (!fill()) return false;
    }
    return true;
  }
  const std::string& received() const { return buf_; }

  // True when the server closes the connection (EOF or reset) before the read timeout.
  bool closedByServer() {
    for (;;) {
      char c[4096];
      ssize_t n = ::recv(fd_, c, sizeof c, 0);
      if (n == 0) return true;
      if (n < 0) return errno == ECONNRESET;
    }
  }

 private:
  bool fill() {
    char c[4096];
    ssize_t n = ::recv(fd_, c, sizeof c, 0);
    if (n <= 0) return false;
    buf_.append(c, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

std::string get(std::string_view path, std::string_view extra = "") {
  return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

// Answers that a test releases later, from its own thread (like a blocking query).
class Deferred {
 public:
  void add(Responder r) {
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(r));
    cv_.notify_all();
  }
  void waitFor(size_t n) {
    std::unique_lock lock(mu_);
    ASSERT_TRUE(cv_.wait_for(lock, 10s, [&] { return pending_.size() >= n; }));
  }
  // Whether `n` entries arrived within `d` (for loops that act between waits).
  bool arrivedWithin(size_t n, std::chrono::milliseconds d) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, d, [&] { return pending_.size() >= n; });
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return pending_.size();
  }
  void releaseAll() {
    std::vector<Responder> all;
    {
      std::lock_guard lock(mu_);
      all.swap(pending_);
    }
    for (auto& r : all) r(textResponse(200, "late"));
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Responder> pending_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.add(Route{"/echo", true, {"GET", "PUT", "HEAD"}, [](RequestPtr r, Responder respond) {
                        respond(textResponse(200, r->path + "|" + r->body));
                      }});
    router_.add(Route{"/slow", false, {"GET"}, [this](RequestPtr, Responder respond) {
                        deferred_.add(std::move(respond));
                      }});
    router_.add(Route{"/waits", false, {"GET"}, [this](RequestPtr, Responder respond) {
                        respond.onCancel([this] { cancels_.add(Responder([](HttpResponse) {})); });
                        deferred_.add(std::move(respond));
                      }});
    router_.add(Route{"/stream", false, {"GET"}, [this](RequestPtr, Responder respond) {
                        auto stream = std::make_shared<BodyStream>();
                        stream->onClose([this] { closed_.add(Responder([](HttpResponse) {})); });
                        HttpResponse r = textResponse(200, "");
                        r.stream = stream;
                        {
                          std::lock_guard lock(stream_mu_);
                          stream_ = stream;
                        }
                        streams_.add(Responder([](HttpResponse) {}));  // after: lastStream() set
                        respond(std::move(r));
                      }});
    router_.add(Route{"/small",
                      false,
                      {"PUT"},
                      [](RequestPtr, Responder respond) { respond(textResponse(200, "ok")); },
                      16});
  }

  void TearDown() override {
    deferred_.releaseAll();
    server_.reset();
  }

  HttpServer& start(HttpServerOptions options = {}) {
    options.threads = 2;
    options.response_headers = {{"X-Test", "1"}};
    server_.emplace(router_, metrics_, options);
    Status s = server_->start("127.0.0.1", 0);
    EXPECT_TRUE(s.isOk()) << s.message();
    return *server_;
  }

  Router router_;
  metrics::Metrics metrics_{"test", "test"};
  Deferred deferred_;
  Deferred cancels_;  // one entry per request of /waits cancelled by the server
  Deferred streams_;  // one entry per /stream request
  Deferred closed_;   // one entry per closed stream
  std::mutex stream_mu_;
  std::shared_ptr<BodyStream> stream_;  // the last /stream answer's body

  std::shared_ptr<BodyStream> lastStream() {
    std::lock_guard lock(stream_mu_);
    return stream_;
  }
  std::optional<HttpServer> server_;
};

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Client c(start().port());
  for (int i = 0; i < 5; ++i) {
    c.send(get("/echo/" + std::to_string(i)));
    Reply r = c.read();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "/echo/" + std::to_string(i) + "|");
    EXPECT_NE(r.head.find("X-Test: 1\r\n"), std::string::npos);
  }
}

TEST_F(ServerTest, PipelinedAnswersKeepRequestOrder) {
  Client c(start().port());
  // The first answer is held back; the fast ones behind it must not overtake it.
  c.send(get("/slow") + get("/echo/a") + "PUT /echo/b HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody" +
         get("/echo/c"));
  deferred_.waitFor(1);
  deferred_.releaseAll();
  EXPECT_EQ(c.read().body, "late");
  EXPECT_EQ(c.read().body, "/echo/a|");
  EXPECT_EQ(c.read().body, "/echo/b|body");
  EXPECT_EQ(c.read().body, "/echo/c|");
}

TEST_F(ServerTest, MalformedRequestIs400AndClose) {
  int port = start().port();
  for (std::string bad : {std::string("PUT /echo/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      "-1\r\n"),
                          std::string("GET /echo/a HTTP/1.1\nHost: x\n\n"),
                          std::string("PUT /echo/a HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
                          "PUT /echo/a\0b HTTP/1.1\r\n\r\n"s}) {
    Client c(port);
    c.send(bad);
    Reply r = c.read();
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(c.closedByServer()) << bad;
  }
  Client ok(port);
  ok.send(get("/echo/still"));
  EXPECT_EQ(ok.read().status, 200);
}

TEST_F(ServerTest, OversizedBodyIs413BeforeTheBodyIsSent) {
  Client c(start().port());
  c.send("PUT /small HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n");
  Reply r = c.read();
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.body, "Request body(1000000 bytes) too large, max size: 16 bytes");
}

TEST_F(ServerTest, ExpectContinueGetsTheInterimAnswer) {
  Client c(start().port());
  c.send("PUT /echo/e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n");
  EXPECT_EQ(c.read().status, 100);
  c.send("hi");
  EXPECT_EQ(c.read().body, "/echo/e|hi");
}

TEST_F(ServerTest, HeadAnswersCarryNoBody) {
  Client c(start().port());
  c.send("HEAD /echo/h HTTP/1.1\r\n\r\n");
  Reply r = c.read(/*head_only=*/true);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("Content-Length: 8\r\n"), std::string::npos) << r.head;
  // The next answer must start right after the HEAD answer's header: a body sent for HEAD would
  // be read here as the next status line.
  c.send(get("/echo/next"));
  Reply next = c.read();
  EXPECT_EQ(next.status, 200) << next.head;
  EXPECT_EQ(next.body, "/echo/next|");
}

TEST_F(ServerTest, HeaderTimeoutClosesSlowClients) {
  HttpServerOptions o;
  o.header_timeout = 200ms;
  int port = start(o).port();
  Client silent(port);
  Client slow(port);
  slow.send("GET /echo/x HTTP/1.1\r\nHos");
  EXPECT_TRUE(silent.closedByServer());
  EXPECT_TRUE(slow.closedByServer());
}

TEST_F(ServerTest, IdleKeepAliveConnectionsAreClosed) {
  HttpServerOptions o;
  o.idle_timeout = 200ms;
  Client c(start(o).port());
  c.send(get("/echo/x"));
  EXPECT_EQ(c.read().status, 200);
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(ServerTest, ABlockingRequestHasNoTimeout) {
  HttpServerOptions o;
  o.header_timeout = 100ms;
  o.idle_timeout = 100ms;
  o.io_timeout = 100ms;
  Client c(start(o).port());
  c.send(get("/slow"));
  deferred_.waitFor(1);
  std::this_thread::sleep_for(400ms);  // several timeouts long: the wait itself is the test
  deferred_.releaseAll();
  EXPECT_EQ(c.read().body, "late");
}

TEST_F(ServerTest, AClientThatClosesCancelsItsWaitingRequest) {
  HttpServer& server = start();
  {
    Client c(server.port());
    c.send(get("/waits"));
    deferred_.waitFor(1);
  }  // closed while its request waits
  cancels_.waitFor(1);
}

TEST_F(ServerTest, PipelinedBytesBehindAWaitingRequestDoNotCancelIt) {
  Client c(start().port());
  c.send(get("/waits") + get("/echo/next"));
  deferred_.waitFor(1);
  std::this_thread::sleep_for(100ms);  // room for a wrong cancel to happen; none may
  deferred_.releaseAll();
  EXPECT_EQ(c.read().body, "late");
  EXPECT_EQ(c.read().body, "/echo/next|");
  EXPECT_EQ(cancels_.count(), 0u);
}

TEST_F(ServerTest, AStreamedBodyArrivesInChunksAndEnds) {
  HttpServerOptions o;
  o.io_timeout = 100ms;  // an idle stream has no deadline: it outlives this
  Client c(start(o).port());
  c.send(get("/stream"));
  ASSERT_TRUE(c.readUntil("\r\n\r\n"));
  EXPECT_NE(c.received().find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_EQ(c.received().find("Content-Length"), std::string::npos);
  streams_.waitFor(1);
  std::shared_ptr<BodyStream> stream = lastStream();
  std::this_thread::sleep_for(300ms);  // idle for several io timeouts: the stream stays open
  ASSERT_TRUE(stream->write("line one\n"));
  ASSERT_TRUE(c.readUntil("9\r\nline one\n\r\n"));
  ASSERT_TRUE(stream->write("two\n"));
  stream->finish();
  ASSERT_TRUE(c.readUntil("4\r\ntwo\n\r\n0\r\n\r\n"));
  EXPECT_TRUE(c.closedByServer());
  closed_.waitFor(1);
  EXPECT_FALSE(stream->write("late"));
}

TEST_F(ServerTest, AClientThatClosesEndsItsStream) {
  HttpServer& server = start();
  {
    Client c(server.port());
    c.send(get("/stream"));
    ASSERT_TRUE(c.readUntil("\r\n\r\n"));
  }
  closed_.waitFor(1);  // the producer learns at once, without writing anything
  EXPECT_TRUE(lastStream()->closed());
  EXPECT_FALSE(lastStream()->write("nobody reads this"));
}

TEST_F(ServerTest, AClientLeavingMidStreamEndsIt) {
  HttpServer& server = start();
  {
    Client c(server.port());
    c.send(get("/stream"));
    ASSERT_TRUE(c.readUntil("\r\n\r\n"));
    streams_.waitFor(1);
    ASSERT_TRUE(lastStream()->write("first\n"));
    ASSERT_TRUE(c.readUntil("6\r\nfirst\n\r\n"));
  }
  closed_.waitFor(1);
  EXPECT_FALSE(lastStream()->write("after the client left"));
  // The server still serves.
  Client next(server.port());
  next.send(get("/echo"));
  EXPECT_EQ(next.read().status, 200);
}

// A client that stops reading: once the socket buffers are full, a write makes no progress for
// io_timeout and the connection closes; the producer is told, nothing piles up without bound.
TEST_F(ServerTest, AClientThatStopsReadingIsClosedAfterIoTimeout) {
  HttpServerOptions o;
  o.io_timeout = 200ms;
  HttpServer& server = start(o);
  Client c(server.port());
  c.send(get("/stream"));
  streams_.waitFor(1);
  std::shared_ptr<BodyStream> stream = lastStream();
  const std::string piece(64 * 1024, 'x');
  auto give_up = std::chrono::steady_clock::now() + 20s;
  size_t refused = 0;
  while (!closed_.arrivedWithin(1, 5ms)) {
    ASSERT_LT(std::chrono::steady_clock::now(), give_up) << "the stream was never closed";
    while (stream->write(piece)) {
    }
    ++refused;  // the stream's buffer is full: the piece was dropped, not queued
  }
  EXPECT_GT(refused, 0u);
  EXPECT_TRUE(stream->closed());
  Client next(server.port());
  next.send(get("/echo"));
  EXPECT_EQ(next.read().status, 200);
}

TEST_F(ServerTest, ConnectionsOverTheLimitGet503) {
  HttpServerOptions o;
  o.max_connections = 3;
  HttpServer& server = start(o);
  EXPECT_EQ(server.connectionLimit(), 3u);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(server.port()));
    held.back()->send(get("/echo/held"));
    EXPECT_EQ(held.back()->read().status, 200);
  }
  Client extra(server.port());
  extra.send(get("/echo/extra"));
  Reply r = extra.read();
  EXPECT_EQ(r.status, 503);
  EXPECT_TRUE(extra.closedByServer());
  held.clear();  // the server notices the closes and serves new clients again
  auto deadline = std::chrono::steady_clock::now() + 10s;
  int status = 0;
  while (status != 200 && std::chrono::steady_clock::now() < deadline) {
    Client again(server.port());
    again.send(get("/echo/again"));
    status = again.read().status;
  }
  EXPECT_EQ(status, 200);
}

TEST_F(ServerTest, TakenPortFailsStart) {
  HttpServer& first = start();
  HttpServer second(router_, metrics_, HttpServerOptions{});
  Status s = second.start("127.0.0.1", first.port());
  EXPECT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("in use"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace cairn::http
