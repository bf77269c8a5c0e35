#include "operator/webhook_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/base/logging.h"

namespace cairn::op {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr size_t kMaxHeaderBytes = 16 * 1024;

// A TLS context serving `pair`; TLS 1.2 and 1.3 only (what API servers speak).
StatusOr<std::shared_ptr<ssl::context>> tlsContext(const KeyPair& pair) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  if (!ec) ctx->use_certificate_chain(asio::buffer(pair.cert_pem), ec);
  if (!ec) ctx->use_private_key(asio::buffer(pair.key_pem), ssl::context::pem, ec);
  if (ec) return invalidArgument("webhook certificate: " + ec.message());
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return invalidArgument("webhook certificate: the key does not match the certificate");
  }
  return ctx;
}

}  // namespace

// Sessions and pending handlers point at the Impl without owning it: the io_context is the
// Impl's last member to go, and destroying it destroys every pending handler and session.
class WebhookServer::Impl {
 public:
  explicit Impl(WebhookServerOptions options)
      : options_(options), acceptor_(asio::make_strand(io_)) {}

  WebhookServerOptions options_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::vector<std::thread> threads_;
  std::map<std::string, WebhookHandler> handlers_;
  mutable std::mutex mu_;
  std::shared_ptr<ssl::context> ctx_;  // guarded by mu_; null until the first certificate
  std::atomic<uint64_t> requests_{0};
  std::atomic<int> port_{0};

  std::shared_ptr<ssl::context> context() const {
    std::lock_guard<std::mutex> lock(mu_);
    return ctx_;
  }
  void accept();
  WebhookResponse dispatch(const bhttp::request<bhttp::string_body>& req) const;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<ssl::context> ctx, WebhookServer::Impl* server)
      : ctx_(std::move(ctx)), stream_(std::move(socket), *ctx_), server_(server) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->handshake(); });
  }

 private:
  void handshake() {
    beast::get_lowest_layer(stream_).expires_after(server_->options_.io_timeout);
    stream_.async_handshake(ssl::stream_base::server,
                            [self = shared_from_this()](beast::error_code ec) {
                              if (!ec) self->read();
                            });
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(server_->options_.max_body);
    beast::get_lowest_layer(stream_).expires_after(server_->options_.io_timeout);
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec == bhttp::error::body_limit) {
      return respond({413, R"({"message":"request body too large"})"}, false);
    }
    if (ec) {
      if (parser_->is_header_done() || buffer_.size() > 0) {
        return respond({400, R"({"message":"malformed HTTP request"})"}, false);
      }
      return close();  // the peer went away (or TLS failed) between requests
    }
    const auto& req = parser_->get();
    respond(server_->dispatch(req), req.keep_alive());
  }

  void respond(WebhookResponse r, bool keep_alive) {
    server_->requests_++;
    res_ = {};
    res_.version(11);
    res_.result(static_cast<unsigned>(r.status));
    res_.set(bhttp::field::content_type, "application/json");
    res_.body() = std::move(r.body);
    res_.keep_alive(keep_alive);
    res_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(server_->options_.io_timeout);
    bhttp::async_write(stream_, res_,
                       [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                         if (ec) return self->close();
                         if (keep_alive) return self->read();
                         self->close();
                       });
  }

  void close() {
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(2));
    stream_.async_shutdown([self = shared_from_this()](beast::error_code) {
      beast::error_code ignored;
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
  }

  std::shared_ptr<ssl::context> ctx_;  // first: outlives the stream that uses it
  beast::ssl_stream<beast::tcp_stream> stream_;
  WebhookServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  bhttp::response<bhttp::string_body> res_;
};

}  // namespace

void WebhookServer::Impl::accept() {
  acceptor_.async_accept(
      asio::make_strand(io_), [self = this](beast::error_code ec, tcp::socket socket) {
        if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
        if (!ec) {
          // The status line, headers and body go out as separate TLS records: without this, Nagle
          // holds the last one until the client's delayed ACK (40 ms) on a kept-alive connection.
          boost::system::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          if (auto ctx = self->context()) {
            std::make_shared<Session>(std::move(socket), std::move(ctx), self)->run();
          }  // else: no certificate yet; the socket closes as it goes out of scope
        }
        self->accept();
      });
}

WebhookResponse WebhookServer::Impl::dispatch(const bhttp::request<bhttp::string_body>& req) const {
  std::string target(req.target());
  std::string path = target.substr(0, target.find('?'));
  auto it = handlers_.find(path);
  if (it == handlers_.end()) return {404, R"({"message":"no such path"})"};
  if (req.method() != bhttp::verb::post) return {405, R"({"message":"POST only"})"};
  return it->second(req.body());
}

WebhookServer::WebhookServer(WebhookServerOptions options)
    : impl_(std::make_unique<Impl>(options)) {}

WebhookServer::~WebhookServer() { stop(); }

void WebhookServer::handle(const std::string& path, WebhookHandler handler) {
  impl_->handlers_[path] = std::move(handler);
}

Status WebhookServer::start(const std::string& address, int port) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  if (ec) return invalidArgument("webhook address " + address + ": " + ec.message());
  tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  impl_->acceptor_.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor_.bind(endpoint, ec);
  if (!ec) impl_->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return unavailable("webhook listen on " + address + ":" + std::to_string(port) + ": " +
                       ec.message());
  }
  impl_->port_ = impl_->acceptor_.local_endpoint().port();
  impl_->accept();
  for (int i = 0; i < std::max(1, impl_->options_.threads); ++i) {
    impl_->threads_.emplace_back([impl = impl_.get()] { impl->io_.run(); });
  }
  return Status::ok();
}

void WebhookServer::stop() {
  if (impl_->threads_.empty()) return;
  impl_->io_.stop();
  for (auto& t : impl_->threads_) t.join();
  impl_->threads_.clear();
  boost::system::error_code ignored;
  impl_->acceptor_.close(ignored);  // open connections go with the io_context, in ~Impl
}

int WebhookServer::port() const { return impl_->port_.load(); }

Status WebhookServer::setCertificate(const KeyPair& pair) {
  auto ctx = tlsContext(pair);
  if (!ctx.isOk()) return ctx.status();
  std::lock_guard<std::mutex> lock(impl_->mu_);
  impl_->ctx_ = std::move(*ctx);
  return Status::ok();
}

bool WebhookServer::hasCertificate() const { return impl_->context() != nullptr; }

uint64_t WebhookServer::requests() const { return impl_->requests_.load(); }

}  // namespace cairn::op
