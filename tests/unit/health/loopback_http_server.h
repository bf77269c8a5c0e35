#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1:<ephemeral> for prober tests, on its own asio thread.
// Routes: /ok 200 "hello", /busy 429, /fail 500, /slow never answers (until the server stops),
// /redirect 302 → /ok, /loop 302 → /loop, /big 200 with 10,000 bytes ("0123456789" repeated),
// /echo 200 with "<METHOD>\n<headers>\n\n<body>". Every connection is closed after one answer.

#include <atomic>
#include <boost/asio.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace cairn::health::testing {

class LoopbackHttpServer {
 public:
  LoopbackHttpServer() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LoopbackHttpServer() {
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port()) + path;
  }
  int requests() const { return requests_.load(); }

 private:
  struct Session : std::enable_shared_from_this<Session> {
    explicit Session(boost::asio::ip::tcp::socket s, LoopbackHttpServer* srv)
        : socket(std::move(s)), server(srv) {}
    boost::asio::ip::tcp::socket socket;
    LoopbackHttpServer* server;
    boost::asio::streambuf in;
    std::string out;

    void start() {
      auto self = shared_from_this();
      boost::asio::async_read_until(socket, in, "\r\n\r\n",
                                    [self](boost::system::error_code ec, size_t n) {
                                      if (!ec) self->onHead(n);
                                    });
    }
    void onHead(size_t n) {
      std::string head(boost::asio::buffers_begin(in.data()),
                       boost::asio::buffers_begin(in.data()) + n);
      in.consume(n);
      size_t length = 0;
      size_t cl = lower(head).find("content-length:");
      if (cl != std::string::npos) length = std::stoul(head.substr(cl + 15));
      auto self = shared_from_this();
      size_t have = in.size();
      boost::asio::async_read(socket, in,
                              boost::asio::transfer_exactly(length > have ? length - have : 0),
                              [self, head](boost::system::error_code ec, size_t) {
                                if (ec) return;
                                std::string body(boost::asio::buffers_begin(self->in.data()),
                                                 boost::asio::buffers_end(self->in.data()));
                                self->answer(head, body);
                              });
    }
    static std::string lower(std::string s) {
      for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return s;
    }
    void answer(const std::string& head, const std::string& body) {
      ++server->requests_;
      std::string method = head.substr(0, head.find(' '));
      size_t p0 = head.find(' ') + 1;
      std::string path = head.substr(p0, head.find(' ', p0) - p0);
      if (path == "/slow") {
        server->held_.push_back(shared_from_this());
        return;
      }
      if (path == "/ok") return reply("200 OK", "hello");
      if (path == "/busy") return reply("429 Too Many Requests", "slow down");
      if (path == "/fail") return reply("500 Internal Server Error", "broken");
      if (path == "/redirect") return reply("302 Found", "", "Location: /ok\r\n");
      if (path == "/loop") return reply("302 Found", "", "Location: /loop\r\n");
      if (path == "/big") {
        std::string big;
        for (int i = 0; i < 1000; ++i) big += "0123456789";
        return reply("200 OK", big);
      }
      if (path == "/echo") return reply("200 OK", method + "\n" + head + "\n" + body);
      reply("404 Not Found", "no such path");
    }
    void reply(const std::string& status, const std::string& body, const std::string& extra = "") {
      out = "HTTP/1.1 " + status + "\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\nConnection: close\r\n" + extra + "\r\n" + body;
      auto self = shared_from_this();
      boost::asio::async_write(
          socket, boost::asio::buffer(out), [self](boost::system::error_code, size_t) {
            boost::system::error_code ignored;
            self->socket.shutdown(boost::asio::socket_base::shutdown_both, ignored);
          });
    }
  };

  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, boost::asio::ip::tcp::socket s) {
      if (ec) return;
      std::make_shared<Session>(std::move(s), this)->start();
      accept();
    });
  }

  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<Session>> held_;  // io thread only
  std::atomic<int> requests_{0};
  std::thread thread_;
};

}  // namespace cairn::health::testing
