#include "core/health/tcp_prober.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>

namespace cairn::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// One probe. Every member is touched on the io thread only.
class TcpAttempt : public std::enable_shared_from_this<TcpAttempt> {
 public:
  TcpAttempt(asio::io_context& io, std::shared_ptr<const CheckDefinition> def,
             std::shared_ptr<asio::ssl::context> tls, ProbeDone done)
      : def_(std::move(def)),
        tls_(std::move(tls)),
        resolver_(io),
        socket_(io),
        timer_(io),
        done_(std::move(done)) {}

  void run();
  // Abandons the probe: `done` is not called.
  void abort() {
    done_ = nullptr;
    close();
  }

 private:
  void connect(tcp::resolver::results_type results, const std::string& host);
  void onConnected(const error_code& ec, const tcp::endpoint& endpoint);
  void handshake(const std::string& host);
  void close() {
    finished_ = true;
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    if (tls_stream_) tls_stream_->lowest_layer().close(ignored);
    socket_.close(ignored);
  }
  void finish(CheckStatus status, std::string output) {
    if (finished_) return;
    close();
    if (ProbeDone done = std::move(done_)) done(ProbeResult{status, std::move(output), false});
  }
  std::string dialPrefix() const { return "dial tcp " + def_->tcp + ": "; }

  const std::shared_ptr<const CheckDefinition> def_;
  const std::shared_ptr<asio::ssl::context> tls_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_stream_;
  asio::steady_timer timer_;
  ProbeDone done_;
  bool finished_ = false;
};

void TcpAttempt::run() {
  StatusOr<HostPort> hp = parseHostPort(def_->tcp);
  if (!hp.isOk()) return finish(CheckStatus::kCritical, hp.status().message());
  auto self = shared_from_this();
  timer_.expires_after(def_->timeout);
  timer_.async_wait([self](const error_code& ec) {
    if (!ec) self->finish(CheckStatus::kCritical, self->dialPrefix() + "i/o timeout");
  });
  std::string host = hp->host;
  error_code literal;
  asio::ip::address address = asio::ip::make_address(host, literal);
  if (!literal) {  // an IP literal: skip the resolver's thread
    auto port = static_cast<uint16_t>(std::stoi(hp->port));
    connect(tcp::resolver::results_type::create(tcp::endpoint(address, port), host, hp->port),
            host);
    return;
  }
  resolver_.async_resolve(
      hp->host, hp->port, [self, host](const error_code& ec, tcp::resolver::results_type results) {
        if (self->finished_) return;
        if (ec) {
          return self->finish(CheckStatus::kCritical,
                              "lookup " + host + ": " + lowerFirst(ec.message()));
        }
        self->connect(std::move(results), host);
      });
}

void TcpAttempt::connect(tcp::resolver::results_type results, const std::string& host) {
  auto self = shared_from_this();
  asio::async_connect(socket_, results,
                      [self, host](const error_code& ec, const tcp::endpoint& endpoint) {
                        if (self->finished_) return;
                        if (!ec && self->tls_) return self->handshake(host);
                        self->onConnected(ec, endpoint);
                      });
}

void TcpAttempt::onConnected(const error_code& ec, const tcp::endpoint&) {
  if (ec)
    return finish(CheckStatus::kCritical, dialPrefix() + "connect: " + lowerFirst(ec.message()));
  finish(CheckStatus::kPassing, "TCP connect " + def_->tcp + ": Success");
}

void TcpAttempt::handshake(const std::string& host) {
  tls_stream_ = std::make_unique<asio::ssl::stream<tcp::socket>>(std::move(socket_), *tls_);
  const std::string& name = def_->tls_server_name.empty() ? host : def_->tls_server_name;
  SSL_set_tlsext_host_name(tls_stream_->native_handle(), name.c_str());
  if (!def_->tls_skip_verify) {
    tls_stream_->set_verify_mode(asio::ssl::verify_peer);
    tls_stream_->set_verify_callback(asio::ssl::rfc2818_verification(name));
  }
  auto self = shared_from_this();
  tls_stream_->async_handshake(asio::ssl::stream_base::client, [self](const error_code& ec) {
    if (self->finished_) return;
    if (ec) {
      return self->finish(CheckStatus::kCritical,
                          "TCP+TLS connect " + self->def_->tcp + ": " + ec.message());
    }
    self->finish(CheckStatus::kPassing, "TCP+TLS connect " + self->def_->tcp + ": Success");
  });
}

class TcpProber final : public Prober {
 public:
  TcpProber(asio::io_context& io, const CheckDefinition& d) : io_(io) {
    def_ = std::make_shared<const CheckDefinition>(d);
    if (d.tcp_use_tls) {
      tls_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
      error_code ignored;
      tls_->set_default_verify_paths(ignored);
    }
  }

  void start(ProbeDone done) override {
    auto attempt = std::make_shared<TcpAttempt>(io_, def_, tls_, std::move(done));
    {
      std::lock_guard lock(mu_);
      current_ = attempt;
    }
    asio::post(io_, [attempt] { attempt->run(); });
  }

  void cancel() override {
    std::lock_guard lock(mu_);
    if (auto attempt = current_.lock()) asio::post(io_, [attempt] { attempt->abort(); });
  }

 private:
  asio::io_context& io_;
  std::shared_ptr<const CheckDefinition> def_;
  std::shared_ptr<asio::ssl::context> tls_;
  std::mutex mu_;
  std::weak_ptr<TcpAttempt> current_;
};

}  // namespace

std::string lowerFirst(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] + 32);
  return text;
}

std::shared_ptr<Prober> makeTcpProber(asio::io_context& io, const CheckDefinition& definition) {
  return std::make_shared<TcpProber>(io, definition);
}

}  // namespace cairn::health
