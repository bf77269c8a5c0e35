#pragma once
// KubeClient: a small synchronous Kubernetes API client over cpprestsdk, for cairn-operator.
//
//   KubeConfig            where the API server is and how to authenticate: from a kubeconfig file
//                         (running outside the cluster) or the pod's service account (inside)
//   KubeClient::call      one request; the answer's status and JSON body. 429 and 5xx are tried
//                         again with exponential back-off (honouring Retry-After), transport
//                         failures too; other statuses are returned as they are
//   KubeClient::update    read-modify-write with optimistic concurrency: 409 → read again,
//                         apply the change again, write again
//   KubeClient::listWatch LIST, then WATCH from the list's resourceVersion; follows bookmarks,
//                         starts a new watch when one ends or drops, and lists again on 410 Gone
//
// Everything the API server sends is untrusted: malformed JSON or shapes are errors, never a
// crash. Threading: a KubeClient may be used from several threads at once; listWatch blocks the
// calling thread until `stop` is set or a callback asks to stop.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::op {

struct KubeConfig {
  std::string server;      // "https://10.0.0.1:443" or "http://127.0.0.1:PORT"
  std::string token;       // bearer token, if any
  std::string token_file;  // re-read before each request when set (projected tokens rotate)
  std::string ca_file;     // PEM bundle to verify the server with; empty: system roots
  bool insecure = false;   // insecure-skip-tls-verify
  std::string name_space = "default";
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

// The current context (or `context`) of a kubeconfig file: server, certificate-authority,
// insecure-skip-tls-verify, token / tokenFile and namespace. Client certificates and exec
// plugins are not supported (kInvalidArgument says so).
StatusOr<KubeConfig> loadKubeconfig(const std::string& path, const std::string& context = "");

// In-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (IPv6 bracketed) and the service
// account's token, ca.crt and namespace under `account_dir`.
StatusOr<KubeConfig> inClusterConfig(
    const EnvLookup& env,
    const std::string& account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

struct KubeResponse {
  int status = 0;
  web::json::value body;  // null when the body was empty or not JSON
};

// A non-2xx answer as a Status: 404 kNotFound, 409 kConflict, 400/422 kInvalidArgument, others
// kUnavailable; the message is the Status object's message when there is one.
Status toStatus(const KubeResponse& response);

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED
  web::json::value object;
};

class KubeClient {
 public:
  struct Options {
    int max_attempts = 5;                    // per call, for 429/5xx/transport failures
    std::chrono::milliseconds backoff{200};  // doubled each attempt, capped at max_backoff
    std::chrono::milliseconds max_backoff{5000};
    std::chrono::seconds timeout{30};
    int watch_timeout_seconds = 300;  // asked of the server for each watch
  };

  explicit KubeClient(KubeConfig config);
  KubeClient(KubeConfig config, Options options);
  ~KubeClient();
  KubeClient(const KubeClient&) = delete;
  KubeClient& operator=(const KubeClient&) = delete;

  // One request (path with query, e.g. "/api/v1/namespaces/x/pods?labelSelector=a%3Db").
  // kUnavailable only when every attempt failed in transport or got 429/5xx.
  StatusOr<KubeResponse> call(const std::string& method, const std::string& path,
                              const web::json::value& body = web::json::value::null(),
                              const std::string& content_type = "application/json");

  // GET / POST / DELETE (with a DeleteOptions body) / merge-patch / server-side apply, each as
  // a Status for non-2xx answers.
  StatusOr<web::json::value> get(const std::string& path);
  StatusOr<web::json::value> create(const std::string& collection, const web::json::value& obj);
  Status remove(const std::string& path, const std::string& propagation = "Background");
  StatusOr<web::json::value> mergePatch(const std::string& path, const web::json::value& patch);
  StatusOr<web::json::value> apply(const std::string& path, const web::json::value& obj,
                                   const std::string& field_manager, bool force = true);

  // GET, mutate, PUT with the resourceVersion read; on 409 starts again (at most `attempts`
  // times). `mutate` may fail to abandon the update.
  StatusOr<web::json::value> update(const std::string& path,
                                    const std::function<Status(web::json::value&)>& mutate,
                                    int attempts = 5);

  // Lists `collection` (the initial state, each time it is listed again), then watches it.
  // `on_list` gets every item of each (re)list; `on_event` each change. Either returning false
  // stops, as does `stop`. Returns OK when stopped, else the error that made it give up (a
  // listing that keeps failing after the retries of call()).
  Status listWatch(const std::string& collection,
                   const std::function<bool(const std::vector<web::json::value>&)>& on_list,
                   const std::function<bool(const WatchEvent&)>& on_event,
                   const std::atomic<bool>& stop);

  // How many times listWatch listed (1 + the relists after 410 Gone): for tests and metrics.
  int lists() const { return lists_.load(); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  Options options_;
  std::atomic<int> lists_{0};
};

}  // namespace cairn::op
