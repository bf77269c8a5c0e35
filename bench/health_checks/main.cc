// bench_health_checks: CPU cost of the health-check runner. Runs --checks HTTP checks (then the
// same number of TCP checks) at a 1 s interval against a loopback HTTP server for --seconds each,
// and reports the CPU seconds this process used per wall second (getrusage(RUSAGE_SELF); the target
// server runs in a child process, so its CPU is not counted) and the probes completed.
//
//   bench_health_checks [--checks 1000] [--seconds 20] [--kind http|tcp|both]
//   bench_health_checks --server   (internal: the target server; prints its port, exits on EOF)

#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "core/health/async_prober_factory.h"
#include "core/health/check_runner.h"

extern char** environ;

namespace cairn::health {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

// ---- target server (child process) ----

void serveOne(std::shared_ptr<tcp::socket> socket) {
  auto buf = std::make_shared<asio::streambuf>();
  asio::async_read_until(
      *socket, *buf, "\r\n\r\n", [socket, buf](boost::system::error_code ec, size_t) {
        if (ec) return;  // a TCP check: connect and close
        static const std::string kReply =
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        asio::async_write(*socket, asio::buffer(kReply),
                          [socket](boost::system::error_code, size_t) {
                            boost::system::error_code ignored;
                            socket->shutdown(tcp::socket::shutdown_both, ignored);
                          });
      });
}

void acceptLoop(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket s) {
    if (!ec) serveOne(std::make_shared<tcp::socket>(std::move(s)));
    acceptLoop(acceptor);
  });
}

int runServer() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  acceptor.listen(4096);
  std::cout << acceptor.local_endpoint().port() << std::endl;
  acceptLoop(acceptor);
  std::thread eof([&io] {  // exit when the parent closes our stdin (or dies)
    char c;
    while (::read(0, &c, 1) > 0) {
    }
    io.stop();
  });
  io.run();
  eof.join();
  return 0;
}

struct Child {
  pid_t pid = -1;
  int to_child = -1;
  uint16_t port = 0;
};

Child startServer() {
  int in[2];
  int out[2];
  if (::pipe(in) != 0 || ::pipe(out) != 0) std::abort();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  char self[] = "/proc/self/exe";
  char flag[] = "--server";
  char* argv[] = {self, flag, nullptr};
  Child child;
  if (posix_spawn(&child.pid, self, &fa, nullptr, argv, environ) != 0) std::abort();
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  child.to_child = in[1];
  std::string line;
  char c;
  while (::read(out[0], &c, 1) == 1 && c != '\n') line += c;
  ::close(out[0]);
  child.port = static_cast<uint16_t>(std::stoi(line));
  return child;
}

// ---- measurement ----

// Counts completed probes around a real factory.
class CountingFactory final : public ProberFactory {
 public:
  explicit CountingFactory(ProberFactory& inner) : inner_(inner) {}
  StatusOr<std::shared_ptr<Prober>> create(const CheckDefinition& d) override {
    StatusOr<std::shared_ptr<Prober>> made = inner_.create(d);
    if (!made.isOk()) return made;
    return std::shared_ptr<Prober>(std::make_shared<Counting>(std::move(*made), completed));
  }
  std::atomic<uint64_t> completed{0};

 private:
  class Counting final : public Prober {
   public:
    Counting(std::shared_ptr<Prober> p, std::atomic<uint64_t>& n) : inner_(std::move(p)), n_(n) {}
    void start(ProbeDone done) override {
      std::atomic<uint64_t>* n = &n_;
      inner_->start([n, done = std::move(done)](ProbeResult r) {
        n->fetch_add(1);
        done(std::move(r));
      });
    }
    void cancel() override { inner_->cancel(); }

   private:
    std::shared_ptr<Prober> inner_;
    std::atomic<uint64_t>& n_;
  };
  ProberFactory& inner_;
};

double cpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void runKind(const std::string& kind, int checks, int seconds, uint16_t port) {
  SystemClock clock;
  TimerQueue timers;
  TimerQueueScheduler scheduler(clock, timers);
  SeededRandom random(42);
  AsyncProberFactory real;
  CountingFactory probers(real);
  std::atomic<uint64_t> updates{0};
  {
    CheckRunner runner({&scheduler, &random, &probers},
                       [&](const std::string&, CheckStatus, const std::string&) { ++updates; });
    std::string addr = "127.0.0.1:" + std::to_string(port);
    for (int i = 0; i < checks; ++i) {
      CheckDefinition d;
      if (kind == "http") d.http = "http://" + addr + "/health";
      if (kind == "tcp") d.tcp = addr;
      d.interval = std::chrono::seconds(1);
      Status s = runner.add("check-" + std::to_string(i), d);
      if (!s.isOk()) std::abort();
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));  // warm-up: every check has started
    uint64_t done0 = probers.completed.load();
    double cpu0 = cpuSeconds();
    auto wall0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    double cpu = cpuSeconds() - cpu0;
    double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    uint64_t done = probers.completed.load() - done0;
    int passing = 0;
    for (int i = 0; i < checks; ++i) {
      auto st = runner.status("check-" + std::to_string(i));
      if (st.isOk() && st->status == CheckStatus::kPassing) ++passing;
    }
    std::printf(
        "%-4s checks=%d interval=1s wall=%.1fs cpu=%.2fs cpu_per_wall=%.3f completed=%llu "
        "(%.0f/s, %.2f per check per s) passing=%d/%d\n",
        kind.c_str(), checks, wall, cpu, cpu / wall, static_cast<unsigned long long>(done),
        static_cast<double>(done) / wall, static_cast<double>(done) / wall / checks, passing,
        checks);
    std::fflush(stdout);
  }
}

int benchMain(int argc, char** argv) {
  int checks = 1000;
  int seconds = 20;
  std::string kind = "both";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--server") return runServer();
    if (a == "--checks" && i + 1 < argc)
      checks = std::stoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc)
      seconds = std::stoi(argv[++i]);
    else if (a == "--kind" && i + 1 < argc)
      kind = argv[++i];
    else {
      std::cerr << "usage: bench_health_checks [--checks N] [--seconds S] [--kind http|tcp|both]\n";
      return 2;
    }
  }
  Child server = startServer();
  if (kind == "http" || kind == "both") runKind("http", checks, seconds, server.port);
  if (kind == "tcp" || kind == "both") runKind("tcp", checks, seconds, server.port);
  ::close(server.to_child);
  ::waitpid(server.pid, nullptr, 0);
  return 0;
}

}  // namespace
}  // namespace cairn::health

int main(int argc, char** argv) { return cairn::health::benchMain(argc, argv); }
