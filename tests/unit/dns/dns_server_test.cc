#include "core/dns/dns_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <set>
#include <sstream>

#include "tests/unit/dns/fake_catalog.h"

namespace cairn::dns {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::FakeCatalog;

constexpr const char* kDig = "/usr/bin/dig";
constexpr int kIoTimeoutMs = 5000;

// A connected client socket on 127.0.0.1; closed on destruction.
class Client {
 public:
  Client(int type, int port) : fd_(socket(AF_INET, type, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Client() { close(fd_); }
  bool connected() const { return connected_; }

  bool send(const Bytes& b) {
    return ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL) == ssize_t(b.size());
  }

  // Bytes received within the timeout; empty on timeout, EOF or error.
  Bytes receive(int timeout_ms = kIoTimeoutMs) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return {};
    Bytes buf(65536);
    ssize_t n = recv(fd_, buf.data(), buf.size(), 0);
    buf.resize(n > 0 ? static_cast<size_t>(n) : 0);
    return buf;
  }

  // Exactly n bytes from a stream socket, or fewer on timeout/EOF.
  Bytes receiveExactly(size_t n) {
    Bytes out;
    while (out.size() < n) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, kIoTimeoutMs) != 1) break;
      Bytes buf(n - out.size());
      ssize_t got = recv(fd_, buf.data(), buf.size(), 0);
      if (got <= 0) break;
      out.insert(out.end(), buf.begin(), buf.begin() + got);
    }
    return out;
  }

  // True when the peer closed the connection within the timeout.
  bool closedByPeer(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1) return false;
    char c;
    return recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  int fd_;
  bool connected_ = false;
};

Bytes queryBytes(const std::string& name, uint16_t type, uint16_t id = 99) {
  Message q;
  q.header.id = id;
  q.questions.push_back({name, type, kClassIn});
  return encodeMessage(q).value();
}

// Sized up front: GCC 12 at -O2 misreports insert() into a two-byte vector (-Warray-bounds).
Bytes framed(const Bytes& b) {
  Bytes out(b.size() + 2);
  out[0] = static_cast<uint8_t>(b.size() >> 8);
  out[1] = static_cast<uint8_t>(b.size());
  std::copy(b.begin(), b.end(), out.begin() + 2);
  return out;
}

std::optional<Message> readFramed(Client& c) {
  Bytes len = c.receiveExactly(2);
  if (len.size() != 2) return std::nullopt;
  Bytes body = c.receiveExactly((static_cast<size_t>(len[0]) << 8) | len[1]);
  StatusOr<Message> m = parseMessage(body);
  if (!m.isOk()) return std::nullopt;
  return *m;
}

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

std::set<std::string> lines(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.insert(line);
  }
  return out;
}

class DnsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_.addNode({"node1", "10.0.0.1", {{"rack", "r1"}}});
    catalog_.addServer({"server1", "10.0.1.1", {}});
    for (int i = 1; i <= 2; ++i) {
      DnsServiceInstance web;
      web.node = {"node" + std::to_string(i), "10.0.0." + std::to_string(i), {}};
      web.port = 8080;
      catalog_.addInstance("web", web);
    }
    options_.tcp_idle_timeout = std::chrono::milliseconds(300);
    options_.max_tcp_connections = 4;
    auto server = DnsServer::start("127.0.0.1", 0, DnsConfig{}, catalog_, options_);
    ASSERT_TRUE(server.isOk()) << server.status().toString();
    server_ = std::move(server).value();
    ASSERT_GT(server_->port(), 0);
  }

  std::string dig(const std::string& args) {
    return run(std::string(kDig) + " @127.0.0.1 -p " + std::to_string(server_->port()) +
               " +time=3 +tries=1 " + args + " 2>&1");
  }

  bool answersUdp() {
    Client c(SOCK_DGRAM, server_->port());
    c.send(queryBytes("node1.node.consul.", kTypeA));
    Bytes r = c.receive();
    StatusOr<Message> m = parseMessage(r);
    return m.isOk() && m->answers.size() == 1;
  }

  FakeCatalog catalog_;
  DnsServerOptions options_;
  std::unique_ptr<DnsServer> server_;
};

TEST_F(DnsServerTest, DigOverUdpAndTcp) {
  if (!std::filesystem::exists(kDig)) GTEST_SKIP() << "dig is not installed";
  EXPECT_EQ(lines(dig("+short web.service.consul A")),
            (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(lines(dig("+tcp +short web.service.consul A")),
            (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(lines(dig("+short node1.node.dc1.consul A")), (std::set<std::string>{"10.0.0.1"}));
  EXPECT_EQ(lines(dig("+short node1.node.consul TXT")), (std::set<std::string>{"\"rack=r1\""}));
  EXPECT_EQ(lines(dig("+noedns +short web.service.consul SRV")),
            (std::set<std::string>{"1 1 8080 node1.node.dc1.consul.",
                                   "1 1 8080 node2.node.dc1.consul."}));
  std::string full = dig("web.service.consul SRV");
  EXPECT_NE(full.find("status: NOERROR"), std::string::npos) << full;
  EXPECT_NE(full.find("flags: qr aa rd;"), std::string::npos) << full;
  EXPECT_NE(full.find("ADDITIONAL: 3"), std::string::npos) << full;  // 2 A + OPT
  EXPECT_NE(full.find("EDNS: version: 0"), std::string::npos) << full;
  std::string missing = dig("+tcp nobody.node.consul A");
  EXPECT_NE(missing.find("status: NXDOMAIN"), std::string::npos) << missing;
  EXPECT_NE(missing.find("hostmaster.consul."), std::string::npos) << missing;
  std::string ptr = dig("+short -x 10.0.0.1");
  EXPECT_EQ(lines(ptr), (std::set<std::string>{"node1.node.dc1.consul."}));
  EXPECT_NE(dig("example.com A").find("status: REFUSED"), std::string::npos);
}

TEST_F(DnsServerTest, SeveralQueriesPerTcpConnection) {
  Client c(SOCK_STREAM, server_->port());
  ASSERT_TRUE(c.connected());
  Bytes both = framed(queryBytes("node1.node.consul.", kTypeA, 1));
  Bytes second = framed(queryBytes("web.service.consul.", kTypeSrv, 2));
  both.insert(both.end(), second.begin(), second.end());
  ASSERT_TRUE(c.send(both));
  std::optional<Message> a = readFramed(c);
  std::optional<Message> b = readFramed(c);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->header.id, 1);
  EXPECT_EQ(b->header.id, 2);
  EXPECT_EQ(b->answers.size(), 2u);
  ASSERT_TRUE(c.send(framed(queryBytes("nobody.node.consul.", kTypeA, 3))));
  std::optional<Message> d = readFramed(c);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->header.rcode, kRcodeNxDomain);
}

TEST_F(DnsServerTest, IdleAndStalledTcpConnectionsAreClosed) {
  Client idle(SOCK_STREAM, server_->port());
  Client partial(SOCK_STREAM, server_->port());
  ASSERT_TRUE(idle.connected() && partial.connected());
  ASSERT_TRUE(partial.send({0, 40, 1, 2, 3}));  // promises 40 bytes, sends 3
  EXPECT_TRUE(idle.closedByPeer(kIoTimeoutMs));
  EXPECT_TRUE(partial.closedByPeer(kIoTimeoutMs));
  EXPECT_TRUE(answersUdp());
}

TEST_F(DnsServerTest, ConnectionsBeyondTheLimitAreClosed) {
  std::vector<std::unique_ptr<Client>> open;
  for (size_t i = 0; i < options_.max_tcp_connections; ++i) {
    open.push_back(std::make_unique<Client>(SOCK_STREAM, server_->port()));
    ASSERT_TRUE(open.back()->send(framed(queryBytes("node1.node.consul.", kTypeA))));
    ASSERT_TRUE(readFramed(*open.back()).has_value());  // accepted and served
  }
  Client extra(SOCK_STREAM, server_->port());
  EXPECT_TRUE(extra.closedByPeer(kIoTimeoutMs));
}

TEST_F(DnsServerTest, HostilePacketsNeitherCrashNorStall) {
  Client udp(SOCK_DGRAM, server_->port());
  std::vector<Bytes> hostile = {
      {},
      {1, 2, 3},
      {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1},    // pointer loop
      {0, 1, 1, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF},  // counts beyond the packet
      Bytes(65000, 0x3F),
  };
  for (const Bytes& b : hostile) udp.send(b);
  Bytes formerr = udp.receive();
  ASSERT_FALSE(formerr.empty());
  EXPECT_EQ(formerr[3] & 0xF, kRcodeFormErr);
  {
    Client tcp(SOCK_STREAM, server_->port());
    Bytes junk = {0xFF, 0xFF};
    junk.insert(junk.end(), 1000, 0xC0);
    tcp.send(junk);
  }  // closed mid-message
  {
    Client tcp(SOCK_STREAM, server_->port());
    tcp.send(framed({9, 9}));  // shorter than a header: dropped, connection kept
    tcp.send(framed(queryBytes("node1.node.consul.", kTypeA, 5)));
    std::optional<Message> m = readFramed(tcp);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->header.id, 5);
  }
  EXPECT_TRUE(answersUdp());
}

TEST_F(DnsServerTest, StopIsIdempotentAndReleasesThePorts) {
  int port = server_->port();
  server_->stop();
  server_->stop();
  server_.reset();
  auto again = DnsServer::start("127.0.0.1", port, DnsConfig{}, catalog_);
  ASSERT_TRUE(again.isOk()) << again.status().toString();
  EXPECT_EQ((*again)->port(), port);
}

TEST(DnsServerStart, RejectsBadArguments) {
  FakeCatalog catalog;
  EXPECT_FALSE(DnsServer::start("not-an-ip", 0, DnsConfig{}, catalog).isOk());
  EXPECT_FALSE(DnsServer::start("127.0.0.1", 70000, DnsConfig{}, catalog).isOk());
  EXPECT_FALSE(DnsServer::start("127.0.0.1", 0, DnsConfig{.udp_answer_limit = 0}, catalog).isOk());
  auto first = DnsServer::start("127.0.0.1", 0, DnsConfig{}, catalog);
  ASSERT_TRUE(first.isOk());
  EXPECT_FALSE(DnsServer::start("127.0.0.1", (*first)->port(), DnsConfig{}, catalog).isOk());
}

}  // namespace
}  // namespace cairn::dns
