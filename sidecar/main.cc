// cairn-sidecar: a Cairn client agent for one Kubernetes pod (docs/sidecar.md).

#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>

// After <utility>: the Boost.Asio it includes uses std::exchange without including it.
#include <pplx/threadpool.h>

#include "core/base/crash_handler.h"
#include "core/base/duration.h"
#include "core/base/logging.h"
#include "core/base/stop_signals.h"
#include "core/client/client_flags.h"
#include "core/config/agent_config.h"
#include "core/http/io_pool.h"
#include "sidecar/sidecar.h"

namespace cairn::sidecar {
namespace {

constexpr char kUsage[] = R"(Usage: cairn-sidecar [options]

  Runs a Cairn client agent for one pod: registers the pod's services from its cairn.io/
  annotations (read from -podinfo-dir), runs their checks, and serves the Consul HTTP API and DNS
  to the pod on 127.0.0.1. The pod's identity comes from the downward API: POD_NAME, POD_IP
  (required), POD_NAMESPACE, NODE_NAME, POD_UID; named ports from CAIRN_CONTAINER_PORTS.

Options (the client agent's, plus the sidecar's own):

)";

// Flags of the sidecar itself, parsed together with the agent's. The TLS flags to the servers
// (docs/security.md, "TLS") are the CLI's: flags, else $CAIRN_* / $CONSUL_* variables.
config::ExtraFlags sidecarFlags(SidecarOptions* o, client::HttpOptions* t) {
  return [o, t](config::FlagSet& fs) {
    client::addClientTlsFlags(fs, t, client::TlsPeer::kServerRpc);
    fs.addString("podinfo-dir", &o->podinfo_dir,
                 "Directory of the downward-API volume with the pod's 'annotations' and 'labels'.");
    fs.addString("probe-addr", &o->probe_addr,
                 "Address of the probe and metrics server (/live, /ready, /metrics).");
    fs.addInt("probe-port", &o->probe_port, "Port of the probe and metrics server (-1: off).");
    fs.add("drain-time", "duration",
           "On SIGTERM, how long the services stay registered as critical before they are "
           "deregistered (default 5s).",
           [o](std::string_view v) -> Status {
             auto d = parseGoDuration(v);
             if (!d.isOk() || d->count() < 0) return invalidArgument("invalid duration");
             o->drain_time = *d;
             return Status::ok();
           });
  };
}

// Keeps the node ID a function of the pod (docs/sidecar.md), whatever the data dir held.
Status writeNodeId(const std::string& data_dir, const std::string& id) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  std::ofstream out(data_dir + "/node-id", std::ios::trunc);
  out << id;
  out.close();
  if (!out) return unavailable("cannot write " + data_dir + "/node-id");
  return Status::ok();
}

// Sets tls.defaults.* of the client agent from the resolved TLS flags (they win over config
// files, as flags do).
void applyTls(const client::ClientTls& t, config::AgentConfig& c) {
  auto set = [&c](const std::string& name, const std::string& value, const char* flag) {
    if (!value.empty()) c.tls["tls.defaults." + name] = {value, flag};
  };
  set("ca_file", t.ca_file, "-ca-file");
  set("cert_file", t.client_cert, "-client-cert");
  set("key_file", t.client_key, "-client-key");
}

// A sidecar runs next to every app container, so its memory is paid once per pod (budget:
// 15 MiB idle; measured in docs/benchmarks.md). The part this file controls is the threads: each
// has a stack and, with glibc, may get a malloc arena of its own that keeps freed memory. So
// the pools get fixed small sizes instead of one thread per core of the node (or cpprestsdk's
// default of 40), and every thread shares two arenas.
constexpr int kMallocArenas = 2;
constexpr int kIoThreads = 2;          // HTTP API, probes, forwarded replies (never blocking)
constexpr int kHttpClientThreads = 2;  // cpprestsdk's pool: the HTTP checks

// Before any thread exists.
void limitMallocArenas() { mallopt(M_ARENA_MAX, kMallocArenas); }

// After the stop signals are blocked (the threads inherit the mask), before anything uses the
// pools.
void sizeThreadPools() {
  http::setSharedIoPoolThreads(kIoThreads);
  try {
    crossplat::threadpool::initialize_with_threads(kHttpClientThreads);
  } catch (const std::exception& e) {
    LOG_WARN("sidecar", "HTTP client thread pool already initialized: " << e.what());
  }
}

int fail(const std::string& message) {
  std::cerr << "cairn-sidecar: " << message << "\n";
  return 1;
}

int run(std::vector<std::string> args) {
  limitMallocArenas();
  installCrashHandler();
  const client::EnvLookup env = client::processEnv();
  auto pod = podIdentityFromEnv(env);
  SidecarOptions options;
  client::HttpOptions tls_flags;
  // Defaults of a sidecar that differ from an agent's; flags given later override them.
  std::vector<std::string> full = {"-data-dir",
                                   "/tmp/cairn-sidecar-" + (pod.isOk() ? pod->name : "pod")};
  full.insert(full.end(), args.begin(), args.end());
  bool help = false;
  auto config = config::loadAgentConfig(full, &help, sidecarFlags(&options, &tls_flags));
  if (help) {
    std::cout << kUsage << config::agentFlagsUsage(sidecarFlags(&options, &tls_flags));
    return 0;
  }
  if (!config.isOk()) return fail(config.status().message());
  // Refuses a certificate without its key, or a file it cannot read, before anything starts.
  auto tls = client::resolveClientTls(tls_flags, env);
  if (!tls.isOk()) return fail(tls.status().message());
  applyTls(*tls, *config);
  if (!pod.isOk()) return fail(pod.status().message());
  auto ports = parseContainerPorts(env("CAIRN_CONTAINER_PORTS").value_or(""));
  if (!ports.isOk()) return fail(ports.status().message());
  if (config->server || config->dev)
    return fail("a sidecar is a client agent: no -server, no -dev");
  LogLevel level = LogLevel::kInfo;
  if (parseLogLevel(config->log_level, level)) setLogLevel(level);
  config->node_name = pod->consulNodeName();
  for (const auto& [k, v] : pod->meta()) config->node_meta[k] = v;  // the pod's identity wins
  if (Status s = writeNodeId(config->data_dir, pod->consulNodeId()); !s.isOk()) {
    return fail(s.message());
  }
  StopSignals signals;  // before any thread starts: only wait() below sees them
  sizeThreadPools();
  auto sidecar = Sidecar::start(*config, options, *pod, *ports);
  if (!sidecar.isOk()) return fail(sidecar.status().message());
  LOG_INFO("sidecar", "cairn-sidecar running for pod "
                          << pod->namespace_name << "/" << pod->name << ": node "
                          << config->node_name << ", probes on port " << (*sidecar)->probePort());
  int sig = signals.wait();
  LOG_INFO("sidecar", "caught signal " << sig << ", draining");
  (*sidecar)->drainAndStop();
  // As the agent: handlers still in flight reference the parts, so the I/O pool's threads are
  // joined before the parts are destroyed.
  http::sharedIoPool().stop();
  sidecar->reset();
  LOG_INFO("sidecar", "stopped");
  return 0;
}

}  // namespace
}  // namespace cairn::sidecar

int main(int argc, char** argv) {
  return cairn::sidecar::run(std::vector<std::string>(argv + 1, argv + argc));
}
