#pragma once
// Sidecar: cairn-sidecar's composition root. A client agent (agent/client) for one pod, the
// registrar fed from the pod's downward-API files, and a small HTTP server for the kubelet's
// probes (/live, /ready) and Prometheus (/metrics). Started in order, stopped in reverse; the
// drain on shutdown is: services critical, wait drain_time, deregister, leave.
//
// Threading: start() and drainAndStop() are called from the main thread. The pod-info watcher
// runs on its own thread; the registrar is touched only there (and by drainAndStop() after the
// watcher has stopped).

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/client/client_agent.h"
#include "core/base/duration.h"
#include "core/config/agent_config.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "sidecar/pod_info.h"
#include "sidecar/registrar.h"

namespace cairn::sidecar {

struct SidecarOptions {
  std::string podinfo_dir;  // the downward-API volume; empty: annotations and labels are empty
  std::string probe_addr = "0.0.0.0";
  int probe_port = 9500;                             // /live, /ready, /metrics; -1: off
  Nanos drain_time = std::chrono::seconds(5);        // critical → deregistered
  Nanos deregister_wait = std::chrono::seconds(5);   // for the deregistration to reach a server
  Nanos podinfo_interval = std::chrono::seconds(2);  // how often the files are read again
};

class Sidecar {
 public:
  // `config` is the client agent's (already named after the pod); `ports` resolves named ports.
  static StatusOr<std::unique_ptr<Sidecar>> start(config::AgentConfig config,
                                                  SidecarOptions options, PodIdentity pod,
                                                  std::map<std::string, int> ports);
  ~Sidecar();

  // The shutdown sequence; returns when the agent has stopped. Idempotent.
  void drainAndStop();
  // Ready: the node and every registration of the pod are in the servers' catalog.
  bool ready() const;
  int probePort() const;

 private:
  Sidecar(SidecarOptions options, PodIdentity pod, std::map<std::string, int> ports)
      : options_(std::move(options)), pod_(std::move(pod)), ports_(std::move(ports)) {}
  Status startProbes();
  // Reads the pod-info files and applies them when they changed (watcher thread).
  void refresh();
  void watchLoop();

  const SidecarOptions options_;
  const PodIdentity pod_;
  const std::map<std::string, int> ports_;
  std::unique_ptr<agent::client::ClientAgent> agent_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Registrar> registrar_;
  std::unique_ptr<metrics::Metrics> probe_metrics_;
  http::Router probe_router_;
  std::unique_ptr<http::HttpServer> probe_server_;

  PodMetadata last_metadata_;
  bool applied_once_ = false;
  std::atomic<bool> registrations_applied_{false};
  std::atomic<bool> draining_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_watch_ = false;
  std::thread watcher_;
  bool stopped_ = false;
};

}  // namespace cairn::sidecar
