#pragma once
// The sidecar-injection webhook as cairn-operator runs it (docs/injection.md): the HTTPS server
// on POST /mutate-pods answering with the injector (injector.h), the certificates kept by
// WebhookCertKeeper in a Secret and the MutatingWebhookConfiguration's caBundle, and the
// namespaces' labels read through the Kubernetes API (cached for a short while).
//
// Threading: start()/stop() and sync() from the operator's thread; reviews are answered on the
// server's threads.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/base/status.h"
#include "operator/injector.h"
#include "operator/kube_client.h"
#include "operator/webhook_certs.h"
#include "operator/webhook_keeper.h"
#include "operator/webhook_server.h"

namespace cairn::op {

struct WebhookOptions {
  std::string service;     // the webhook's Service; empty: no webhook
  std::string name_space;  // of the Service and the Secret; empty: the kube config's namespace
  std::string bind = "0.0.0.0";
  int port = 9443;
  std::string config_name = "cairn-injector";  // the MutatingWebhookConfiguration
  std::string secret_name;                     // empty: <service>-certs
  InjectorConfig injector;
  CertOptions certs;  // service and name_space are filled in from the above
  std::chrono::seconds namespace_cache_ttl{30};
};

// Applies one command-line flag of the webhook (-webhook-*, -sidecar-*, -inject-default; see
// docs/injection.md). False when `flag` is not one of them; a bad value is an error.
StatusOr<bool> webhookFlag(const std::string& flag, const std::string& value, WebhookOptions* o);
// Their usage lines.
const char* webhookFlagsUsage();

// Counted admissions, for /metrics.
struct WebhookCounters {
  std::atomic<uint64_t> patched{0}, allowed{0}, denied{0}, malformed{0}, rotations{0},
      cert_errors{0};
};

class Webhook {
 public:
  // `kube` keeps the certificates; namespace lookups use a client of their own made from
  // `config`, with one attempt and a 2 s timeout, so a slow API server cannot hold a review
  // past the API server's own deadline for it.
  Webhook(WebhookOptions options, KubeClient& kube, const KubeConfig& config);
  ~Webhook();

  Status start();
  void stop();
  // One pass of the certificate keeper (webhook_keeper.h).
  void sync(bool leader);
  bool ready() const { return server_.hasCertificate(); }
  int port() const { return server_.port(); }
  // Prometheus text for the webhook's counters.
  std::string renderMetrics() const;

 private:
  WebhookResponse review(const std::string& body);
  Labels namespaceLabels(const std::string& name);
  WebhookCertKeeper::Deps keeperDeps();

  WebhookOptions options_;
  KubeClient& kube_;
  KubeClient lookups_;
  WebhookServer server_;
  std::unique_ptr<WebhookCertKeeper> keeper_;
  WebhookCounters counters_;
  std::mutex mu_;  // guards the cache
  std::map<std::string, std::pair<std::chrono::steady_clock::time_point, Labels>> ns_cache_;
};

}  // namespace cairn::op
