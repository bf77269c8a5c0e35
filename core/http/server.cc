#include "core/http/server.h"

#include <sys/resource.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/base/logging.h"
#include "core/http/body_stream.h"
#include "core/http/request_reader.h"
#include "core/http/wire.h"

namespace cairn::http {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = ssl::stream<tcp::socket>;
using Clock = std::chrono::steady_clock;

constexpr size_t kHeaderReadBytes = 4 * 1024;  // small: idle connections hold this much
constexpr size_t kBodyReadBytes = 64 * 1024;
constexpr size_t kLingerBytes = 1 << 20;  // discarded after a rejection, so the client reads it
constexpr std::chrono::milliseconds kLingerTime{2000};
constexpr std::chrono::milliseconds kRefusalLinger{500};
constexpr size_t kMaxRefusing = 256;  // 503 answers being written at once
constexpr std::chrono::milliseconds kAcceptRetry{100};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

// Metric label for a method: a client must not be able to mint label values.
std::string_view methodLabel(std::string_view m) {
  for (std::string_view known :
       {"GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT"}) {
    if (m == known) return known;
  }
  return "OTHER";
}

// Descriptors left for the rest of the process (RocksDB, Raft and gRPC, DNS, checks).
size_t descriptorCap() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  size_t n = rl.rlim_cur;
  return n > 1024 ? n - 256 : n * 3 / 4;
}

bool outOfDescriptors(const boost::system::error_code& ec) {
  int v = ec.value();
  return ec.category() == boost::system::system_category() &&
         (v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM);
}

// The TCP socket under a connection's stream: shutdown, close, peeks and waits go there (a TLS
// connection is closed without close_notify, as an HTTP/1.1 answer is framed by its length).
tcp::socket& rawSocket(tcp::socket& s) { return s; }
tcp::socket& rawSocket(TlsStream& s) { return s.next_layer(); }

int tlsVersion(const std::string& name) {
  if (name == "TLSv1_0") return TLS1_VERSION;
  if (name == "TLSv1_1") return TLS1_1_VERSION;
  if (name == "TLSv1_3") return TLS1_3_VERSION;
  return TLS1_2_VERSION;
}

StatusOr<std::shared_ptr<ssl::context>> makeTlsContext(const HttpTlsOptions& o) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::single_dh_use,
                   ec);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), tlsVersion(o.min_version));
  if (!ec) ctx->use_certificate_chain(asio::buffer(o.cert_pem), ec);
  if (ec) return invalidArgument("HTTPS certificate: " + ec.message());
  ctx->use_private_key(asio::buffer(o.key_pem), ssl::context::pem, ec);
  if (ec) return invalidArgument("HTTPS key: " + ec.message());
  if (!o.ca_pem.empty()) {
    // Every certificate of the bundle (add_certificate_authority takes one at a time).
    std::string_view rest = o.ca_pem;
    constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
    for (size_t end; (end = rest.find(kEnd)) != std::string_view::npos;) {
      std::string_view one = rest.substr(0, end + kEnd.size());
      ctx->add_certificate_authority(asio::buffer(one.data(), one.size()), ec);
      if (ec) return invalidArgument("HTTPS CA: " + ec.message());
      rest.remove_prefix(one.size());
    }
  }
  if (o.verify_incoming) {
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  } else if (!o.ca_pem.empty()) {
    ctx->set_verify_mode(ssl::verify_peer);  // a certificate is optional, but checked if sent
  }
  return ctx;
}

}  // namespace

// What the server keeps of an open connection, whatever its stream.
class Connection {
 public:
  virtual ~Connection() = default;
  virtual void closeNow() = 0;
  virtual asio::any_io_executor executor() = 0;
};

class HttpServer::Impl : public std::enable_shared_from_this<HttpServer::Impl> {
 public:
  Impl(const Router& router, metrics::Metrics& metrics, HttpServerOptions options, IoPool& pool)
      : router_(router),
        metrics_(metrics),
        options_(std::move(options)),
        pool_(pool),
        accept_strand_(asio::make_strand(pool.context())),
        retry_timer_(accept_strand_) {
    for (const auto& [name, value] : options_.response_headers) {
      extra_headers_ += name + ": " + value + "\r\n";
    }
    limit_ = std::min(options_.max_connections, descriptorCap());
  }

  Status start(const std::string& address, int port);
  // own_pool_stopped: the pool's threads are joined, so everything can be closed inline.
  void stop(bool own_pool_stopped);

  int port() const { return port_; }
  size_t limit() const { return limit_; }
  const Router& router() const { return router_; }
  metrics::Metrics& metrics() { return metrics_; }
  const HttpServerOptions& options() const { return options_; }
  const std::string& extraHeaders() const { return extra_headers_; }
  bool stopping() const { return stopped_; }

  void add(Connection* s, const std::shared_ptr<Connection>& session);
  void remove(Connection* s, bool counted);
  // HTTPS: the context new connections handshake with (null: plain HTTP).
  std::shared_ptr<ssl::context> tlsContext() {
    std::lock_guard lock(mu_);
    return tls_;
  }
  void setTlsContext(std::shared_ptr<ssl::context> tls) {
    std::lock_guard lock(mu_);
    tls_ = std::move(tls);
  }

 private:
  void accept();
  void onAccept(const boost::system::error_code& ec, tcp::socket socket);
  // A session for an accepted socket: served (`counted`) or refused with 503.
  void launchFor(bool counted, tcp::socket socket);
  template <typename Stream, typename... StreamArgs>
  void launch(bool counted, std::shared_ptr<ssl::context> tls, StreamArgs&&... args);

  const Router& router_;
  metrics::Metrics& metrics_;
  HttpServerOptions options_;
  IoPool& pool_;
  std::string extra_headers_;
  size_t limit_ = 0;
  int port_ = 0;
  asio::strand<asio::io_context::executor_type> accept_strand_;
  std::optional<tcp::acceptor> acceptor_;  // used on accept_strand_ only
  asio::steady_timer retry_timer_;
  Clock::time_point last_warning_{};
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> open_{0};
  std::atomic<size_t> refusing_{0};
  std::mutex mu_;  // guards sessions_ and tls_
  std::unordered_map<Connection*, std::weak_ptr<Connection>> sessions_;
  std::shared_ptr<ssl::context> tls_;
};

// One connection. Every member runs on the connection's strand, except respond(), which any
// thread may call (it posts to the strand). At most one request is being handled at a time; the
// next pipelined one is parsed once the previous answer is written.
// Stream is tcp::socket (HTTP) or TlsStream (HTTPS: a handshake comes first).
template <typename Stream>
class Session final : public Connection, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `tls` keeps the context the stream was made with alive (null for plain HTTP).
  template <typename... StreamArgs>
  Session(std::shared_ptr<HttpServer::Impl> server, std::shared_ptr<ssl::context> tls, bool counted,
          StreamArgs&&... stream_args)
      : server_(std::move(server)),
        tls_(std::move(tls)),
        socket_(std::forward<StreamArgs>(stream_args)...),
        timer_(socket_.get_executor()),
        reader_(ReaderLimits{server_->options().max_header_bytes,
                             [router = &server_->router()](std::string_view path) {
                               const Route* r = router->match(path);
                               return r ? r->max_body : Router::kDefaultMaxBody;
                             }}),
        counted_(counted) {}

  ~Session() override { release(); }

  asio::any_io_executor executor() override { return socket_.get_executor(); }

  void start() {
    if (server_->stopping()) return closeNow();  // accepted while the server was stopping
    server_->add(this, this->shared_from_this());
    // The first header (and, for HTTPS, the handshake before it), counted from accept.
    setDeadline(server_->options().header_timeout);
    handshakeThen([this] { readMore(); });
  }

  // Over the connection limit: 503 and close.
  void refuse() {
    setDeadline(server_->options().header_timeout);
    handshakeThen([this] {
      auto r = textResponse(503, "Too many open connections; try again later");
      r.setHeader("Retry-After", "1");
      linger_time_ = kRefusalLinger;  // a refused client has usually sent nothing yet
      reject(std::move(r));
    });
  }

  void closeNow() override {
    if (closed_) return;
    closed_ = true;
    if (handling_) {  // a waiting handler releases what it holds now, not when its wait ends
      auto handling = std::move(*handling_);
      handling_.reset();
      handling.cancel();
    }
    if (stream_) stream_->close();  // its producer stops (a monitor's log sink goes away)
    boost::system::error_code ignored;
    rawSocket(socket_).shutdown(tcp::socket::shutdown_both, ignored);
    rawSocket(socket_).close(ignored);
    timer_.cancel();
    release();
  }

 private:
  // HTTPS: the TLS handshake, then `next` (on the strand; the session is kept alive). A failed
  // handshake (no or a wrong client certificate, not TLS at all) closes the connection.
  template <typename Next>
  void handshakeThen(Next next) {
    if constexpr (kTls) {
      socket_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this(), next](
                                                            const boost::system::error_code& ec) {
        if (ec || self->closed_) {
          if (ec) LOG_DEBUG("http", "TLS handshake failed: " << ec.message());
          return self->closeNow();
        }
        next();
      });
    } else {
      next();
    }
  }

  // ---- reading ----
  void readMore() {
    auto space = reader_.prepare(reader_.readingBody() ? kBodyReadBytes : kHeaderReadBytes);
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                              size_t n) { self->onRead(ec, n); });
  }

  void onRead(const boost::system::error_code& ec, size_t n) {
    if (ec || closed_) return closeNow();
    if (!in_request_) {  // the first bytes of a request: its header must follow in time
      in_request_ = true;
      setDeadline(server_->options().header_timeout);
    }
    reader_.commit(n);
    if (reader_.readingBody()) setDeadline(server_->options().io_timeout);
    process();
  }

  void process() {
    switch (reader_.advance()) {
      case RequestReader::Step::kNeedMore:
        if (reader_.readingBody()) setDeadline(server_->options().io_timeout);
        return readMore();
      case RequestReader::Step::kContinue:
        return writeContinue();
      case RequestReader::Step::kReject:
        server_->metrics().observeHttpRequest("unmatched", "OTHER", reader_.rejection().status,
                                              0.0);
        return reject(reader_.rejection());
      case RequestReader::Step::kRequest:
        return dispatch(reader_.take());
    }
  }

  void writeContinue() {
    setDeadline(server_->options().io_timeout);
    asio::async_write(
        socket_, asio::buffer(kContinue.data(), kContinue.size()),
        [self = this->shared_from_this()](const boost::system::error_code& ec, size_t) {
          if (ec || self->closed_) return self->closeNow();
          self->process();
        });
  }

  // ---- handling ----
  void dispatch(std::shared_ptr<HttpRequest> request) {
    clearDeadline();  // a blocking query may take minutes; it holds no timer here
    reader_.releaseMemory();
    keep_alive_ = reader_.keepAlive();
    head_only_ = request->method == "HEAD";
    const Router& router = server_->router();
    const Route* route = router.match(request->path);
    // A view into the Router's route (it outlives the server) or a literal: small to capture.
    std::string_view label = route ? std::string_view(route->pattern) : "unmatched";
    request->route = std::string(label);
    Responder respond = responderFor(label, request->method);
    handling_ = respond;
    try {
      router.dispatch(route, std::move(request), respond);
    } catch (const std::exception& e) {
      LOG_ERROR("http", "handler threw: " << e.what());
      respond(textResponse(500, "Internal error"));
    }
  }

  // The responder of the request being dispatched. It owns the session until it is answered
  // (the session's handling_ copy is dropped on answer or close, which ends the cycle).
  Responder responderFor(std::string_view route, const std::string& method) {
    auto start = Clock::now();
    uint64_t gen = ++request_gen_;
    return Responder(
        [self = this->shared_from_this(), route, method = methodLabel(method),
         start](HttpResponse r) {
          double secs = std::chrono::duration<double>(Clock::now() - start).count();
          self->server_->metrics().observeHttpRequest(route, method, r.status, secs);
          auto ex = self->executor();
          asio::post(ex, [self, r = std::move(r)]() mutable { self->send(std::move(r), false); });
        },
        [weak = this->weak_from_this(), gen] {  // the handler waits: watch for the client leaving
          if (auto self = weak.lock()) {
            asio::post(self->executor(), [self, gen] { self->watchPeer(gen); });
          }
        });
  }

  // ---- a client leaving while its request waits (a blocking query) ----
  // Nothing is read while a request is handled, so a closed connection would go unnoticed until
  // the answer. A waiting request therefore watches its socket: EOF or an error cancels it (its
  // record leaves the WatchHub and the TimerQueue at once). Bytes of a next, pipelined request
  // end the watch: they stay unread until the answer is written.
  void watchPeer(uint64_t gen) {
    if (closed_ || gen != request_gen_ || !handling_ || watching_peer_) return;
    watching_peer_ = true;
    // The request may wait for minutes with no deadline: drop the timer's pending wait (a
    // stale header deadline) now rather than keep it queued for the whole wait.
    if (timer_armed_) {
      timer_armed_ = false;
      ++timer_gen_;
      timer_.cancel();
    }
    rawSocket(socket_).async_wait(tcp::socket::wait_read, [self = this->shared_from_this(), gen](
                                                              const boost::system::error_code& ec) {
      self->onPeerReadable(ec, gen);
    });
  }

  void onPeerReadable(const boost::system::error_code& ec, uint64_t gen) {
    if (gen == request_gen_) watching_peer_ = false;
    if (closed_ || gen != request_gen_ || !handling_ || ec == asio::error::operation_aborted) {
      return;
    }
    if (ec) return peerGone();
    char byte = 0;
    boost::system::error_code peek;
    tcp::socket& raw = rawSocket(socket_);
    raw.non_blocking(true, peek);
    size_t n = peek ? 0 : raw.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, peek);
    if (peek == asio::error::would_block || peek == asio::error::try_again) return watchPeer(gen);
    if (peek || n == 0) return peerGone();
    // A pipelined request is waiting behind this one: the client is still there.
  }

  void peerGone() {
    auto handling = *handling_;
    if (handling.cancel()) return closeNow();  // the waiting handler stopped: no answer comes
    // The handler may still answer (a read in its barrier); send it, then close, but do not
    // wait for it beyond io_timeout.
    keep_alive_ = false;
    setDeadline(server_->options().io_timeout);
  }

  // ---- writing ----
  void reject(HttpResponse r) {
    keep_alive_ = false;
    head_only_ = false;
    send(std::move(r), true);
  }

  void send(HttpResponse r, bool then_linger) {
    if (closed_) {
      if (r.stream) r.stream->close();  // its producer must stop too
      return;
    }
    handling_.reset();
    if (watching_peer_) {  // the only operation pending while a request is handled
      boost::system::error_code ignored;
      rawSocket(socket_).cancel(ignored);
      watching_peer_ = false;
    }
    if (r.stream && !head_only_ && !then_linger) return startStream(std::move(r));
    if (r.stream) {  // HEAD: the head alone; nobody will read the pieces
      r.stream->close();
      r.stream.reset();
    }
    bool keep = keep_alive_ && !then_linger && !server_->stopping();
    keep_alive_ = keep;
    out_head_ = responseHead(r, keep, server_->extraHeaders());
    out_body_ = head_only_ ? std::string() : std::move(r.body);
    setDeadline(server_->options().io_timeout);
    std::array<asio::const_buffer, 2> buffers{asio::buffer(out_head_), asio::buffer(out_body_)};
    asio::async_write(
        socket_, buffers,
        [self = this->shared_from_this(), then_linger](
            const boost::system::error_code& ec, size_t) { self->onWritten(ec, then_linger); });
  }

  // ---- a streamed body (body_stream.h) ----
  // The head goes out at once; then every piece the producer writes, as one chunk per write
  // round. The connection closes after the body (no keep-alive), so no request follows. While
  // nothing is queued the session holds only two pending operations: a read that notices the
  // client leaving and the producer's wake-up.
  void startStream(HttpResponse r) {
    out_head_ = responseHead(r, false, server_->extraHeaders());  // chunked: r.stream is set
    stream_ = std::move(r.stream);
    keep_alive_ = false;
    setDeadline(server_->options().io_timeout);
    stream_writing_ = true;  // the head first
    // The producer wakes the session from its own thread (a monitor: whichever thread logs,
    // under the log's lock). It must not own the session there: the last owner would destroy
    // it on that thread. So the wake-up holds the strand and a weak pointer only.
    stream_->attach([weak = this->weak_from_this(), ex = executor()] {
      asio::post(ex, [weak] {
        if (auto self = weak.lock()) self->pumpStream();
      });
    });
    asio::async_write(
        socket_, asio::buffer(out_head_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, size_t) {
          self->onStreamWritten(ec, false);
        });
    watchStreamPeer();
  }

  void pumpStream() {
    if (closed_ || stream_writing_) return;
    BodyStream::Taken taken = stream_->take();
    if (taken.data.empty() && !taken.finished) {
      clearDeadline();  // idle until the producer writes again
      return;
    }
    out_body_.clear();
    if (!taken.data.empty()) out_body_ = chunkFrame(taken.data);
    if (taken.finished) out_body_ += chunkFrame("");
    stream_writing_ = true;
    setDeadline(server_->options().io_timeout);
    asio::async_write(
        socket_, asio::buffer(out_body_),
        [self = this->shared_from_this(), last = taken.finished](
            const boost::system::error_code& ec, size_t) { self->onStreamWritten(ec, last); });
  }

  void onStreamWritten(const boost::system::error_code& ec, bool last) {
    stream_writing_ = false;
    if (ec || closed_) return closeNow();
    if (last) {  // the peer watch's read sees the client close, or the deadline ends it
      stream_->close();
      boost::system::error_code ignored;
      rawSocket(socket_).shutdown(tcp::socket::shutdown_send, ignored);
      return setDeadline(linger_time_);
    }
    pumpStream();
  }

  // Reads (and drops) whatever the client sends: EOF or an error means it left.
  void watchStreamPeer() {
    if (!discard_) discard_ = std::make_unique<std::array<char, 4096>>();
    socket_.async_read_some(
        asio::buffer(*discard_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, size_t) {
          if (self->closed_ || ec == asio::error::operation_aborted) return;
          if (ec) return self->closeNow();
          self->watchStreamPeer();
        });
  }

  void onWritten(const boost::system::error_code& ec, bool then_linger) {
    out_head_.clear();
    out_body_.clear();
    out_body_.shrink_to_fit();
    if (ec || closed_) return closeNow();
    if (then_linger) return linger();
    if (!keep_alive_) {
      boost::system::error_code ignored;
      rawSocket(socket_).shutdown(tcp::socket::shutdown_send, ignored);
      return linger();
    }
    in_request_ = false;
    if (reader_.midRequest()) {  // pipelined: the next request is already (partly) here
      in_request_ = true;
      setDeadline(server_->options().header_timeout);
      return process();
    }
    reader_.releaseMemory();
    setDeadline(server_->options().idle_timeout);
    readMore();
  }

  // After an answer that closes the connection: stop sending, read and drop what the client is
  // still sending for a short while, then close. Closing with unread data would reset the
  // connection, and the client could lose the answer.
  void linger() {
    boost::system::error_code ignored;
    rawSocket(socket_).shutdown(tcp::socket::shutdown_send, ignored);
    setDeadline(linger_time_);
    drain();
  }

  void drain() {
    if (!discard_) discard_ = std::make_unique<std::array<char, 4096>>();
    socket_.async_read_some(
        asio::buffer(*discard_),
        [self = this->shared_from_this()](const boost::system::error_code& ec, size_t n) {
          self->lingered_ += n;
          if (ec || self->closed_ || self->lingered_ > kLingerBytes) {
            return self->closeNow();
          }
          self->drain();
        });
  }

  // ---- timeouts: one timer, re-armed lazily ----
  void setDeadline(std::chrono::milliseconds d) {
    auto at = Clock::now() + d;
    deadline_ = at;
    if (!timer_armed_ || at < armed_at_) arm(at);
  }

  void clearDeadline() { deadline_ = Clock::time_point::max(); }

  void arm(Clock::time_point at) {
    timer_armed_ = true;
    armed_at_ = at;
    timer_.expires_at(at);
    timer_.async_wait(
        [weak = this->weak_from_this(), gen = ++timer_gen_](const boost::system::error_code& ec) {
          if (ec) return;
          if (auto self = weak.lock()) self->onTimer(gen);
        });
  }

  void onTimer(uint64_t gen) {
    if (gen != timer_gen_) return;
    timer_armed_ = false;
    if (closed_ || deadline_ == Clock::time_point::max()) return;
    if (Clock::now() >= deadline_) return closeNow();
    arm(deadline_);
  }

  void release() {
    if (released_) return;
    released_ = true;
    server_->remove(this, counted_);
  }

  std::shared_ptr<HttpServer::Impl> server_;
  std::shared_ptr<ssl::context> tls_;  // before socket_: the stream refers to it
  Stream socket_;
  asio::steady_timer timer_;
  RequestReader reader_;
  bool counted_;
  bool closed_ = false;
  bool released_ = false;
  bool in_request_ = true;  // from accept, the first request's header is due
  bool keep_alive_ = false;
  bool head_only_ = false;
  std::optional<Responder> handling_;  // the request being handled, until it is answered
  uint64_t request_gen_ = 0;           // tells a stale peer watch from the current one
  bool watching_peer_ = false;
  std::string out_head_;
  std::string out_body_;
  std::shared_ptr<BodyStream> stream_;  // a streamed answer being sent
  bool stream_writing_ = false;
  std::unique_ptr<std::array<char, 4096>> discard_;
  size_t lingered_ = 0;
  std::chrono::milliseconds linger_time_ = kLingerTime;
  Clock::time_point deadline_ = Clock::time_point::max();
  Clock::time_point armed_at_{};
  bool timer_armed_ = false;
  uint64_t timer_gen_ = 0;
};

Status HttpServer::Impl::start(const std::string& address, int port) {
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address, ec);
  std::string where = address + ":" + std::to_string(port);
  if (ec) return invalidArgument("HTTP address " + address + ": " + ec.message());
  tcp::endpoint endpoint(ip, static_cast<uint16_t>(port));
  acceptor_.emplace(accept_strand_);
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    acceptor_.reset();
    return internalError("HTTP listener on " + where + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  LOG_INFO("http", "listening on " << address << ":" << port_ << " (at most " << limit_
                                   << " connections, " << pool_.threads() << " I/O threads)");
  asio::post(accept_strand_, [self = shared_from_this()] { self->accept(); });
  return Status::ok();
}

void HttpServer::Impl::accept() {
  if (stopped_ || !acceptor_) return;
  acceptor_->async_accept(
      asio::make_strand(pool_.context()),
      [self = shared_from_this()](const boost::system::error_code& ec, tcp::socket socket) {
        self->onAccept(ec, std::move(socket));
      });
}

void HttpServer::Impl::onAccept(const boost::system::error_code& ec, tcp::socket socket) {
  if (stopped_ || ec == asio::error::operation_aborted) return;
  if (ec) {
    if (outOfDescriptors(ec)) {
      // Retrying at once would spin: the pending connection stays in the backlog until a
      // descriptor is free.
      if (Clock::now() - last_warning_ > std::chrono::seconds(10)) {
        last_warning_ = Clock::now();
        LOG_WARN("http", "accept: " << ec.message() << "; pausing accepts (open connections: "
                                    << open_.load() << ")");
      }
      retry_timer_.expires_after(kAcceptRetry);
      retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e) self->accept();
      });
      return;
    }
    return accept();
  }
  // HTTPS before its first certificate: nothing to handshake with, so the socket just closes.
  if (options_.tls && !tlsContext()) return accept();
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (open_.load() >= limit_) {
    if (refusing_.load() < kMaxRefusing) {
      ++refusing_;
      launchFor(false, std::move(socket));
    }  // else the socket closes here: refusing must not cost more than serving
  } else {
    ++open_;
    launchFor(true, std::move(socket));
  }
  accept();
}

void HttpServer::Impl::launchFor(bool counted, tcp::socket socket) {
  if (auto tls = tlsContext()) {
    ssl::context& ctx = *tls;
    return launch<TlsStream>(counted, std::move(tls), std::move(socket), ctx);
  }
  launch<tcp::socket>(counted, nullptr, std::move(socket));
}

template <typename Stream, typename... StreamArgs>
void HttpServer::Impl::launch(bool counted, std::shared_ptr<ssl::context> tls,
                              StreamArgs&&... args) {
  auto session = std::make_shared<Session<Stream>>(shared_from_this(), std::move(tls), counted,
                                                   std::forward<StreamArgs>(args)...);
  if (counted) {
    asio::post(session->executor(), [session] { session->start(); });
  } else {
    asio::post(session->executor(), [session] { session->refuse(); });
  }
}

void HttpServer::Impl::add(Connection* s, const std::shared_ptr<Connection>& session) {
  std::lock_guard lock(mu_);
  sessions_[s] = session;
}

void HttpServer::Impl::remove(Connection* s, bool counted) {
  {
    std::lock_guard lock(mu_);
    sessions_.erase(s);
  }
  if (counted) {
    --open_;
  } else {
    --refusing_;
  }
}

void HttpServer::Impl::stop(bool own_pool_stopped) {
  if (stopped_.exchange(true)) return;
  std::vector<std::shared_ptr<Connection>> open;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  if (own_pool_stopped) {  // no other thread runs: close inline
    acceptor_.reset();
    retry_timer_.cancel();
    for (auto& s : open) s->closeNow();
    return;
  }
  asio::post(accept_strand_, [self = shared_from_this()] {
    self->retry_timer_.cancel();
    self->acceptor_.reset();
  });
  for (auto& s : open) asio::post(s->executor(), [s] { s->closeNow(); });
}

HttpServer::HttpServer(const Router& router, metrics::Metrics& metrics, HttpServerOptions options)
    : own_pool_(options.pool ? nullptr : std::make_unique<IoPool>(options.threads)) {
  IoPool& pool = options.pool ? *options.pool : *own_pool_;
  impl_ = std::make_shared<Impl>(router, metrics, std::move(options), pool);
}

HttpServer::~HttpServer() {
  stop();
  impl_.reset();
  own_pool_.reset();  // drops the handlers still queued, and the sessions they hold
}

Status HttpServer::start(const std::string& address, int port) {
  if (impl_->options().tls && !impl_->options().tls->cert_pem.empty()) {
    auto ctx = makeTlsContext(*impl_->options().tls);
    if (!ctx.isOk()) return ctx.status();
    impl_->setTlsContext(std::move(*ctx));
  }
  return impl_->start(address, port);
}

void HttpServer::stop() {
  if (own_pool_) own_pool_->stop();
  impl_->stop(own_pool_ != nullptr);
}

int HttpServer::port() const { return impl_->port(); }

Status HttpServer::setTls(const HttpTlsOptions& tls) {
  if (!impl_->options().tls) return invalidArgument("not an HTTPS server");
  auto ctx = makeTlsContext(tls);
  if (!ctx.isOk()) return ctx.status();
  impl_->setTlsContext(std::move(*ctx));
  return Status::ok();
}

size_t HttpServer::connectionLimit() const { return impl_->limit(); }

}  // namespace cairn::http
