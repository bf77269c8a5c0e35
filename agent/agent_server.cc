#include "agent/agent_server.h"

#include <sys/resource.h>
#include <unistd.h>

#define _TURN_OFF_PLATFORM_STRING
#include <pplx/threadpool.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <random>
#include <thread>

#include "agent/data_dir.h"
#include "agent/server_health_monitor.h"
#include "agent/server_node.h"
#include "agent/store_dns_catalog.h"
#include "agent/version.h"
#include "core/base/crash_handler.h"
#include "core/base/logging.h"
#include "core/base/timer_queue.h"
#include "core/dns/dns_server.h"
#include "core/health/async_prober_factory.h"
#include "core/health/scheduler.h"
#include "core/http/agent_routes.h"
#include "core/http/handlers.h"
#include "core/http/membership_routes.h"
#include "core/http/server.h"
#include "core/http/ui_handlers.h"
#include "core/local/local_agent.h"
#include "core/membership/membership_monitor.h"
#include "core/membership/membership_service.h"
#include "core/metrics/metrics.h"
#include "core/node/session_reaper.h"
#include "core/storage/rocks_db.h"
#include "core/store/state_store.h"

namespace cairn::agent {
namespace {

Status checkSupported(const config::AgentConfig& c) {
  if (!c.dev && !c.server) {
    return invalidArgument(
        "client agents (without -server) are not supported yet: run "
        "`cairn agent -dev` or `-server -bootstrap`");
  }
  return Status::ok();
}

http::AgentInfo agentInfo(const config::AgentConfig& c, std::string node_id) {
  http::AgentInfo a;
  a.node_name = c.node_name;
  a.node_id = std::move(node_id);
  a.datacenter = c.datacenter;
  a.version = kVersion;
  a.revision = kRevision;
  a.advertise_addr = c.advertise_addr.empty() ? "127.0.0.1" : c.advertise_addr;
  a.server_port = c.server_port;
  a.server = true;
  a.session_ttl_min_ns = c.session_ttl_min_ns;
  a.kv_max_value_size = c.kv_max_value_size;
  a.txn_max_req_len = c.txn_max_req_len;
  return a;
}

// Blocks until SIGINT or SIGTERM. Signals must already be blocked in every thread.
int waitForSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  return sig;
}

int fail(const Status& status) {
  LOG_ERROR("agent", status.message());
  return 1;
}

// The DNS interface on client_addr:dns_port (-1: off). Its catalog view outlives the server.
StatusOr<std::unique_ptr<dns::DnsServer>> startDns(const config::AgentConfig& config,
                                                   const dns::DnsCatalog& catalog) {
  if (config.dns_port < 0) return std::unique_ptr<dns::DnsServer>();
  auto seconds = [](int64_t ns) { return static_cast<uint32_t>(ns / 1'000'000'000); };
  dns::DnsConfig dns_config;
  dns_config.domain = config.dns_domain;
  dns_config.datacenter = config.datacenter;
  dns_config.node_ttl = seconds(config.dns_node_ttl_ns);
  for (const auto& [name, ns] : config.dns_service_ttl_ns) {
    dns_config.service_ttl_by_name[name] = seconds(ns);
  }
  dns_config.udp_answer_limit = config.dns_udp_answer_limit;
  dns_config.only_passing = config.dns_only_passing;
  dns_config.enable_truncate = config.dns_enable_truncate;
  auto normalized = dns::normalizeConfig(dns_config);
  if (!normalized.isOk()) return invalidArgument("dns_config: " + normalized.status().message());
  return dns::DnsServer::start(config.client_addr, config.dns_port, *normalized, catalog);
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

// The HTTP edge's limits. CAIRN_HTTP_HEADER_TIMEOUT_MS, CAIRN_HTTP_IDLE_TIMEOUT_MS and
// CAIRN_HTTP_MAX_CONNS override the defaults (tests use short ones; docs/http.md).
http::HttpServerOptions httpOptions() {
  http::HttpServerOptions o;
  o.pool = &http::sharedIoPool();
  o.response_headers = {{"X-Consul-Default-ACL-Policy", "allow"}};
  auto env = [](const char* name, int64_t fallback) {
    const char* v = std::getenv(name);
    if (!v || !*v) return fallback;
    char* end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    return (*end == '\0' && n > 0) ? static_cast<int64_t>(n) : fallback;
  };
  o.header_timeout =
      std::chrono::milliseconds(env("CAIRN_HTTP_HEADER_TIMEOUT_MS", o.header_timeout.count()));
  o.idle_timeout =
      std::chrono::milliseconds(env("CAIRN_HTTP_IDLE_TIMEOUT_MS", o.idle_timeout.count()));
  o.max_connections =
      static_cast<size_t>(env("CAIRN_HTTP_MAX_CONNS", static_cast<int64_t>(o.max_connections)));
  return o;
}

membership::MembershipMonitorOptions membershipOptions(const config::AgentConfig& c) {
  membership::MembershipMonitorOptions o;
  if (c.client_timeout_ns > 0) {
    o.liveness.client_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::nanoseconds(c.client_timeout_ns));
  }
  return o;
}

ServerHealthMonitor::Options serverHealthOptions(const config::AgentConfig& c,
                                                 const http::AgentInfo& info) {
  ServerHealthMonitor::Options o;
  o.node_name = info.node_name;
  o.server_port = c.server_port;
  o.version = info.version;
  return o;
}

int64_t wallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void writePidFile(const std::string& path) {
  if (path.empty()) return;
  std::ofstream(path, std::ios::trunc) << getpid() << "\n";
}

}  // namespace

int runAgent(const config::AgentConfig& config) {
  installCrashHandler();
  LogLevel level = LogLevel::kInfo;
  if (parseLogLevel(config.log_level, level)) setLogLevel(level);
  if (Status s = checkSupported(config); !s.isOk()) return fail(s);
  // Block the stop signals before any thread starts, so only sigwait() sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  raiseDescriptorLimit();
  sizeHttpPool();  // its threads inherit the blocked signals
  // Start-up may wait for other servers (discovery), so a stop signal is watched from now on.
  auto stopping = std::make_shared<std::atomic<bool>>(false);
  auto caught = std::make_shared<std::promise<int>>();
  std::thread([signals, caught, stopping] {
    int sig = waitForSignal(signals);
    *stopping = true;
    caught->set_value(sig);
  }).detach();

  auto data_dir = DataDir::prepare(config.data_dir, config.dev);
  if (!data_dir.isOk()) return fail(data_dir.status());
  bool had_identity = data_dir->hasNodeId();
  auto node_id = data_dir->nodeId();
  if (!node_id.isOk()) return fail(node_id.status());
  auto db = storage::RocksDb::open(data_dir->path() + "/db", nullptr, had_identity);
  if (!db.isOk()) return fail(db.status());

  http::AgentInfo info = agentInfo(config, *node_id);
  metrics::Metrics metrics(kVersion, kRevision);
  metrics.setRocksDbSizeProbe([&db] { return (*db)->approximateSizeBytes(); });
  metrics.setStorageFaultsProbe([&db] {
    auto v = (*db)->health().view();
    return metrics::StorageFaults{
        v.diskFull(), v.write_fault == storage::StorageHealth::WriteFault::kIoError, v.corrupted};
  });
  store::WatchHub watches;
  store::StateStore state(**db, watches);
  TimerQueue timers;
  SerialWorker slow_work;
  node::SessionReaper session_reaper(timers);
  state.setSessionObserver(&session_reaper);
  // Client agents' heartbeats (cairn.v1.Membership) on the server port; answers once attached.
  membership::MembershipService membership_service;
  auto server_node =
      ServerNode::start(config, *node_id, **db, state, metrics, *stopping, {&membership_service});
  if (!server_node.isOk()) return fail(server_node.status());
  http::ApiContext ctx{(*server_node)->node(), state, watches, timers, slow_work, metrics, info,
                       &(*db)->health()};
  http::Router router;
  http::addKvRoutes(router, ctx);
  http::addTxnRoutes(router, ctx);
  http::addStatusRoutes(router, ctx);
  http::addOperatorRoutes(router, ctx);
  http::addSnapshotRoutes(router, ctx);
  http::addCatalogRoutes(router, ctx);
  http::addHealthRoutes(router, ctx);
  // The local agent (own services and checks, anti-entropy); scheduler and probers outlive it.
  SystemClock clock;
  health::TimerQueueScheduler scheduler(clock, timers);
  health::AsyncProberFactory probers;
  local::AgentIdentity identity{info.node_name,
                                info.node_id,
                                info.datacenter,
                                info.advertise_addr,
                                local::defaultTaggedAddresses(info.advertise_addr),
                                {}};
  local::LocalOptions local_options;
  local_options.enable_script_checks = config.enable_script_checks;
  local_options.check_update_interval = Nanos(config.check_update_interval_ns);
  auto local_agent = local::LocalAgent::open(
      identity, local_options,
      {&ctx.node, &state, db->get(), &scheduler, &probers, std::random_device{}()});
  if (!local_agent.isOk()) return fail(local_agent.status());
  http::addAgentRoutes(router, ctx, **local_agent);
  membership::MembershipMonitor membership(membershipOptions(config),
                                           {&ctx.node, &state, &scheduler, wallNowMs});
  membership_service.attach(&ctx.node, &membership);
  auto leave_requested = std::make_shared<std::atomic<bool>>(false);
  http::addMembershipRoutes(
      router, ctx,
      {[&membership](const std::string& node, bool prune, std::function<void(Status)> done) {
         membership.forceLeave(node, prune, std::move(done));
       },
       [leave_requested] {
         // PUT /v1/agent/leave: leave the cluster and stop, as on SIGTERM with leave_on_terminate.
         *leave_requested = true;
         kill(getpid(), SIGTERM);
       }});
  http::addSessionRoutes(router, ctx);
  http::addEventRoutes(router, ctx);
  if (config.ui_enabled) {
    http::addUiRoutes(router, http::embeddedUiAssets(), http::embeddedUiVersion());
  }
  session_reaper.start(ctx.node, state);
  if (const char* f = std::getenv("CAIRN_FAULT_INJECTION"); f && std::string(f) == "1") {
    (*server_node)->addFaultInjectionRoutes(router);
  }
  http::HttpServer server(router, metrics, httpOptions());
  if (Status s = server.start(config.client_addr, config.http_port); !s.isOk()) return fail(s);
  node::Node& raft = ctx.node;
  StoreDnsCatalog dns_catalog(state, [&raft] {
    std::vector<std::string> names;
    for (const auto& s : raft.raftConfiguration().servers) names.push_back(s.node);
    return names;
  });
  auto dns_server = startDns(config, dns_catalog);
  if (!dns_server.isOk()) return fail(dns_server.status());
  writePidFile(config.pid_file);
  (*local_agent)->start();
  ServerHealthMonitor server_health(ctx.node, state, timers, serverHealthOptions(config, info));
  server_health.start();
  membership.start();
  LOG_INFO("agent",
           "Cairn agent running: node="
               << info.node_name << " dc=" << info.datacenter << " http=" << config.client_addr
               << ":" << config.http_port << " dns=" << config.client_addr << ":" << config.dns_port
               << " data-dir=" << data_dir->path() << " applied-index=" << state.appliedIndex());
  int sig = caught->get_future().get();
  LOG_INFO("agent", "caught signal " << sig << ", shutting down");
  (*local_agent)->stop();
  server_health.stop();
  membership.stop();
  (*server_node)->shutdown(config.leave_on_terminate || *leave_requested);
  server.stop();
  if (*dns_server) (*dns_server)->stop();
  if (!config.pid_file.empty()) unlink(config.pid_file.c_str());
  // The next start then replays no WAL. Raft has stopped; reads still in flight do not mind.
  if (Status flushed = (*db)->flush(); !flushed.isOk()) LOG_WARN("agent", flushed.message());
  data_dir->removeIfTemporary();
  // Requests still in flight on the I/O pool's threads (blocking queries, replies being sent)
  // reference the components above, so running their destructors now would race with those
  // threads. Every acknowledged write is already synced to RocksDB, so the process leaves here.
  std::fflush(nullptr);
  _exit(0);
}

}  // namespace cairn::agent
