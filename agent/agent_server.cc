#include "agent/agent_server.h"

#include <sys/resource.h>

#define _TURN_OFF_PLATFORM_STRING
#include <pplx/threadpool.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "agent/client/client_agent.h"
#include "agent/server_agent.h"
#include "agent/version.h"
#include "core/base/crash_handler.h"
#include "core/base/logging.h"
#include "core/base/stop_signals.h"
#include "core/config/config_file.h"
#include "core/http/io_pool.h"

namespace cairn::agent {
namespace {

// What SIGHUP runs: set once the agent has started; until then a SIGHUP is logged and dropped.
class ReloadHook {
 public:
  void set(RunningAgent* agent) {
    std::lock_guard<std::mutex> lock(mu_);
    agent_ = agent;
  }
  void run() {
    std::lock_guard<std::mutex> lock(mu_);
    if (agent_ == nullptr) {
      LOG_WARN("agent", "SIGHUP before the agent finished starting: not reloaded");
      return;
    }
    LOG_INFO("agent", "caught SIGHUP, reloading the configuration");
    if (Status s = agent_->reload(); !s.isOk())
      LOG_ERROR("agent", "reload failed: " << s.message());
  }

 private:
  std::mutex mu_;
  RunningAgent* agent_ = nullptr;
};

int fail(const Status& status) {
  LOG_ERROR("agent", status.message());
  return 1;
}

// cpprestsdk's shared pool now runs only our HTTP *client* work (HTTP health checks, the checks'
// continuations). Its default of 40 threads on a 2-core machine spends most of the CPU waking and
// parking threads, so it gets one per core. The HTTP server, its handlers and postWork() run on
// sharedIoPool() (core/http/io_pool.h). Contract for both: no pool thread blocks on I/O or on
// another task. Must run before anything touches the pools, after the stop signals are blocked.
void sizeHttpPool() {
  unsigned cores = std::max(2u, std::thread::hardware_concurrency());
  try {
    crossplat::threadpool::initialize_with_threads(cores);
  } catch (const std::exception& e) {
    LOG_WARN("agent", "HTTP thread pool already initialized: " << e.what());
  }
  http::sharedIoPool();  // starts its threads with the signal mask in place
}

// Every connection costs a descriptor: an inherited soft limit of 1,024 would cap the server far
// below what it can serve. The hard limit is as far as an unprivileged process may go.
void raiseDescriptorLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rlim_t before = rl.rlim_cur;
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    LOG_WARN("agent", "could not raise the descriptor limit from " << before);
    return;
  }
  LOG_DEBUG("agent", "descriptor limit raised from " << before << " to " << rl.rlim_cur);
}

// The first line an operator looks for: which build, which mode and which ports, as Consul prints
// its version and addresses before anything else.
void logStartBanner(const config::AgentConfig& c) {
  LOG_INFO("agent", "Cairn v" << kVersion << " (revision " << kRevision << ") starting a "
                              << (c.server || c.dev ? "server" : "client")
                              << " agent: node=" << c.node_name << " dc=" << c.datacenter
                              << " ports: http=" << c.http_addr << ":" << c.http_port << " dns="
                              << c.dns_addr << ":" << c.dns_port << " server=" << c.bind_addr << ":"
                              << c.server_port << " grpc=" << c.bind_addr << ":" << c.grpc_port);
}

}  // namespace

int runAgent(const config::AgentConfig& config) {
  installCrashHandler();
  LogLevel level = LogLevel::kInfo;
  if (parseLogLevel(config.log_level, level)) setLogLevel(level);
  logStartBanner(config);
  if (std::string w = config::ignoredKeysWarning(config); !w.empty()) LOG_WARN("agent", w);
  // Before any thread starts (see StopSignals): only the watcher below sees the signals.
  auto signals = std::make_shared<const StopSignals>(StopSignals::Reload::kOnSighup);
  raiseDescriptorLimit();
  sizeHttpPool();  // its threads inherit the blocked signals
  // Start-up may wait for other servers (discovery), so a stop signal is watched from now on.
  auto stopping = std::make_shared<std::atomic<bool>>(false);
  auto caught = std::make_shared<std::promise<int>>();
  auto reload_hook = std::make_shared<ReloadHook>();
  std::thread([signals, caught, stopping, reload_hook] {
    int sig = signals->wait([&] { reload_hook->run(); });
    *stopping = true;
    caught->set_value(sig);
  }).detach();

  std::unique_ptr<RunningAgent> agent;
  if (config.server || config.dev) {
    auto server = ServerAgent::start(config, *stopping);
    if (!server.isOk()) return fail(server.status());
    agent = std::move(*server);
  } else {
    auto client = client::ClientAgent::start(config, {});
    if (!client.isOk()) return fail(client.status());
    agent = std::move(*client);
  }
  reload_hook->set(agent.get());
  int sig = caught->get_future().get();
  LOG_INFO("agent", "caught signal " << sig << ", shutting down");
  reload_hook->set(nullptr);
  agent->stop();
  // Requests still in flight on the I/O pool's threads (blocking queries, replies being sent)
  // reference the agent's parts: the pool's threads are joined before the parts are destroyed.
  http::sharedIoPool().stop();
  agent.reset();
  LOG_INFO("agent", "stopped");
  return 0;
}

}  // namespace cairn::agent
