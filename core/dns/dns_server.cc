#include "core/dns/dns_server.h"

#include <array>
#include <boost/asio.hpp>
#include <ctime>
#include <random>
#include <set>
#include <thread>

#include "core/base/logging.h"
#include "core/base/random.h"

namespace cairn::dns {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using boost::system::error_code;

constexpr const char* kLog = "dns";
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

class TcpConnection;

}  // namespace

// Everything below runs on the io thread, except construction (before the thread starts) and
// the destructor (after it joined).
struct DnsServer::Impl {
  Impl(DnsConfig c, const DnsCatalog& cat, DnsServerOptions o)
      : config(std::move(c)), catalog(cat), options(o), random(std::random_device{}()) {}

  std::optional<std::vector<uint8_t>> answer(std::span<const uint8_t> query, Transport transport);
  void receiveUdp();
  void acceptTcp();
  void shutdown();

  DnsConfig config;
  const DnsCatalog& catalog;
  DnsServerOptions options;
  SeededRandom random;
  asio::io_context io;
  udp::socket udp_socket{io};
  tcp::acceptor acceptor{io};
  asio::steady_timer accept_retry{io};
  std::array<uint8_t, kMaxMessageSize> udp_buffer{};
  udp::endpoint udp_peer;
  std::set<std::shared_ptr<TcpConnection>> connections;
  std::thread thread;
  int port = 0;
};

namespace {

// One TCP client: reads length-prefixed queries one after another and answers each in turn.
class TcpConnection : public std::enable_shared_from_this<TcpConnection> {
 public:
  TcpConnection(tcp::socket socket, DnsServer::Impl& server)
      : socket_(std::move(socket)), timer_(server.io), server_(server) {}

  void start() { readLength(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    socket_.close(ec);
    timer_.cancel();
    server_.connections.erase(shared_from_this());
  }

 private:
  void armTimer() {
    timer_.expires_after(server_.options.tcp_idle_timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->close();
    });
  }

  void readLength() {
    armTimer();
    asio::async_read(socket_, asio::buffer(length_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->close();
                       size_t n = (static_cast<size_t>(self->length_[0]) << 8) | self->length_[1];
                       if (n == 0) return self->close();
                       self->readBody(n);
                     });
  }

  void readBody(size_t n) {
    body_.resize(n);
    asio::async_read(socket_, asio::buffer(body_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (ec) return self->close();
                       self->respond();
                     });
  }

  void respond() {
    std::optional<std::vector<uint8_t>> response = server_.answer(body_, Transport::kTcp);
    if (!response || response->size() > kMaxMessageSize) return readLength();
    out_.clear();
    out_.push_back(static_cast<uint8_t>(response->size() >> 8));
    out_.push_back(static_cast<uint8_t>(response->size()));
    out_.insert(out_.end(), response->begin(), response->end());
    armTimer();
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](error_code ec, size_t) {
                        if (ec) return self->close();
                        self->readLength();
                      });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  DnsServer::Impl& server_;
  std::array<uint8_t, 2> length_{};
  std::vector<uint8_t> body_;
  std::vector<uint8_t> out_;
  bool closed_ = false;
};

Status bindOnce(DnsServer::Impl& s, const asio::ip::address& address, int port) {
  error_code ec;
  udp::endpoint udp_endpoint(address, static_cast<uint16_t>(port));
  s.udp_socket.open(udp_endpoint.protocol(), ec);
  if (!ec) s.udp_socket.bind(udp_endpoint, ec);
  if (!ec) s.udp_socket.non_blocking(true, ec);
  if (ec) return unavailable("dns: udp bind: " + ec.message());
  int actual = s.udp_socket.local_endpoint(ec).port();
  tcp::endpoint tcp_endpoint(address, static_cast<uint16_t>(actual));
  s.acceptor.open(tcp_endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(tcp_endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return unavailable("dns: tcp bind: " + ec.message());
  s.port = actual;
  return Status::ok();
}

Status bindBoth(DnsServer::Impl& s, const asio::ip::address& address, int port) {
  int attempts = port == 0 ? std::max(1, s.options.bind_attempts) : 1;
  Status last;
  for (int i = 0; i < attempts; ++i) {
    last = bindOnce(s, address, port);
    if (last.isOk()) return last;
    error_code ec;
    s.udp_socket.close(ec);
    s.acceptor.close(ec);
  }
  return last;
}

}  // namespace

std::optional<std::vector<uint8_t>> DnsServer::Impl::answer(std::span<const uint8_t> query,
                                                            Transport transport) {
  try {
    if (options.forward) return options.forward(query, transport);
    ResolveContext ctx{config, catalog, random, static_cast<uint32_t>(std::time(nullptr))};
    return resolveQuery(query, transport, ctx);
  } catch (const std::exception& e) {
    LOG_ERROR(kLog, "query failed: " << e.what());
  } catch (...) {
    LOG_ERROR(kLog, "query failed with an unknown exception");
  }
  return std::nullopt;
}

void DnsServer::Impl::receiveUdp() {
  udp_socket.async_receive_from(
      asio::buffer(udp_buffer), udp_peer, [this](error_code ec, size_t n) {
        if (ec == asio::error::operation_aborted || !udp_socket.is_open()) return;
        if (!ec) {
          std::optional<std::vector<uint8_t>> response =
              answer(std::span<const uint8_t>(udp_buffer.data(), n), Transport::kUdp);
          error_code send_ec;  // a full socket buffer drops the answer, as UDP may
          if (response) udp_socket.send_to(asio::buffer(*response), udp_peer, 0, send_ec);
        }
        receiveUdp();
      });
}

void DnsServer::Impl::acceptTcp() {
  acceptor.async_accept([this](error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (ec) {
      LOG_WARN(kLog, "accept failed: " << ec.message());
      accept_retry.expires_after(kAcceptRetryDelay);
      accept_retry.async_wait([this](error_code wait_ec) {
        if (!wait_ec) acceptTcp();
      });
      return;
    }
    if (connections.size() >= options.max_tcp_connections) {
      error_code close_ec;
      socket.close(close_ec);
    } else {
      auto connection = std::make_shared<TcpConnection>(std::move(socket), *this);
      connections.insert(connection);
      connection->start();
    }
    acceptTcp();
  });
}

void DnsServer::Impl::shutdown() {
  error_code ec;
  acceptor.close(ec);
  udp_socket.close(ec);
  accept_retry.cancel();
  std::set<std::shared_ptr<TcpConnection>> open = connections;
  for (const auto& c : open) c->close();
}

StatusOr<std::unique_ptr<DnsServer>> DnsServer::start(const std::string& bind_address, int port,
                                                      DnsConfig config, const DnsCatalog& catalog,
                                                      DnsServerOptions options) {
  if (port < 0 || port > 65535) return invalidArgument("dns: bad port");
  StatusOr<DnsConfig> normalized = normalizeConfig(std::move(config));
  if (!normalized.isOk()) return normalized.status();
  error_code ec;
  asio::ip::address address = asio::ip::make_address(bind_address, ec);
  if (ec) return invalidArgument("dns: bad bind address " + bind_address);
  auto impl = std::make_unique<Impl>(std::move(normalized).value(), catalog, options);
  CAIRN_RETURN_IF_ERROR(bindBoth(*impl, address, port));
  impl->receiveUdp();
  impl->acceptTcp();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    for (;;) {
      try {
        raw->io.run();
        return;
      } catch (const std::exception& e) {
        LOG_ERROR(kLog, "handler failed: " << e.what());
      }
    }
  });
  LOG_INFO(kLog, "serving DNS on " << bind_address << ":" << impl->port << " (udp+tcp)");
  return std::unique_ptr<DnsServer>(new DnsServer(std::move(impl)));
}

DnsServer::DnsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsServer::~DnsServer() { stop(); }

int DnsServer::port() const { return impl_->port; }

void DnsServer::stop() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] { impl->shutdown(); });
  impl_->thread.join();
}

}  // namespace cairn::dns
