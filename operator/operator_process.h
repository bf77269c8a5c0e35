// The cairn-operator process: Lease leader election, the reconcile loop, and the /metrics,
// /healthz and /readyz endpoints. Only the Lease holder reconciles.
//
// Threading: start() spawns one loop thread and three watch threads; stop() stops them and
// joins (a watch thread notices within kWatchSeconds). Each pass of the loop renews the Lease
// and, while leader, reconciles every CairnCluster once (one action each). A pass starts when a
// watch of CairnClusters, the operator's StatefulSets or the server pods sees a change (at most
// one pass per kMinPassGap), and at the latest `resync` after the last one.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/base/status.h"
#include "operator/kube_client.h"
#include "operator/observed_state.h"
#include "operator/reconciler.h"
#include "operator/webhook.h"

namespace cairn::op {

struct OperatorOptions {
  std::string kubeconfig;       // empty: in-cluster configuration
  std::string watch_namespace;  // empty: all namespaces
  std::string metrics_addr = "127.0.0.1:9600";
  bool leader_elect = true;
  std::string lease_name = "cairn-operator";
  std::string lease_namespace = "default";
  std::string identity;  // Lease holder identity; empty: hostname + pid
  // How long a Lease outlives its holder's last renewal (renewed on every pass, so at least
  // every `resync`): how long a replica waits to take over from one that died.
  std::chrono::seconds lease_duration{15};
  std::chrono::milliseconds resync{2000};
  WebhookOptions webhook;  // the sidecar-injection webhook, when webhook.service is set
};

// Counters and gauges served on /metrics, named cairn_operator_* (docs/architecture.md).
struct OperatorMetrics {
  std::atomic<uint64_t> reconciles{0}, errors{0}, membership_actions{0};
  std::atomic<uint64_t> reconcile_micros_total{0};
  std::atomic<bool> leader{false};
  std::mutex mu;
  std::map<std::string, std::pair<int, int>> clusters;  // name -> {desired, ready}
  std::string render();
};

class Operator {
 public:
  explicit Operator(OperatorOptions options);
  ~Operator();
  Operator(const Operator&) = delete;
  Operator& operator=(const Operator&) = delete;

  // Loads the kube config, starts the HTTP endpoints, then the loop. Returns once serving.
  Status start();
  void stop();
  int metricsPort() const;
  int webhookPort() const;  // 0 without a webhook

 private:
  struct Http;
  void loop();
  // Lists and watches `collection` until stop(), waking the loop on every change.
  void watchLoop(const std::string& collection);
  void wake();
  void reconcileAll();
  Status reconcileOne(const web::json::value& object);
  // `addresses`: the ready server pods' IPs, where the Raft view was read and actions go.
  StatusOr<ObservedState> observe(const ObservedCluster& cluster,
                                  std::vector<std::string>& addresses);
  // The servers' Raft view from the first of the `ready` pod IPs that answers, else what a
  // `not_ready` one reports of the members, else unreachable.
  RaftView readRaftView(const std::vector<std::string>& ready,
                        const std::vector<std::string>& not_ready);
  Status carryOut(const ObservedState& state, const Decision& decision,
                  const std::vector<std::string>& addresses);

  OperatorOptions options_;
  std::unique_ptr<KubeClient> kube_;
  std::unique_ptr<Http> http_;
  std::unique_ptr<Webhook> webhook_;
  OperatorMetrics metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> ready_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool wake_ = false;  // a watched object changed since the last pass; guarded by mu_
  std::thread thread_;
  std::unique_ptr<KubeClient> watch_kube_;  // short watches, so that stop() is prompt
  std::vector<std::thread> watchers_;
};

}  // namespace cairn::op
