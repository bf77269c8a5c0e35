#include "operator/operator_process.h"

#include <cpprest/http_client.h>
#include <unistd.h>

#include <sstream>

#include "core/base/logging.h"
#include "core/http/router.h"
#include "core/http/server.h"
#include "core/metrics/metrics.h"
#include "operator/desired_objects.h"
#include "operator/leader_election.h"

namespace cairn::op {
namespace {

using web::json::value;

const char* kGroupPath = "/apis/cairn.io/v1alpha1";
const char* kFieldManager = "cairn-operator";
// A watch asks the server to end it after this long (then watches again from where it was):
// the longest stop() waits for a watch thread.
constexpr int kWatchSeconds = 5;
// Passes triggered by watch events are at least this far apart: a burst of pod status changes
// (every probe of every server) makes one pass, not one per event.
constexpr std::chrono::milliseconds kMinPassGap{100};

std::string nsPrefix(const std::string& ns) { return ns.empty() ? "" : "/namespaces/" + ns; }

std::string field(const value& v, const char* a, const char* b) {
  if (!v.is_object() || !v.has_field(a) || !v.at(a).is_object()) return "";
  const value& inner = v.at(a);
  return inner.has_field(b) && inner.at(b).is_string() ? inner.at(b).as_string() : "";
}

// The REST path of a namespaced object we apply, from its kind (the kinds desiredObjects makes).
StatusOr<std::string> objectPath(const value& obj, const std::string& ns) {
  static const std::map<std::string, std::string> kCollections = {
      {"ConfigMap", "/api/v1/namespaces/%/configmaps/"},
      {"Service", "/api/v1/namespaces/%/services/"},
      {"StatefulSet", "/apis/apps/v1/namespaces/%/statefulsets/"},
      {"PodDisruptionBudget", "/apis/policy/v1/namespaces/%/poddisruptionbudgets/"},
  };
  std::string kind = obj.has_field("kind") ? obj.at("kind").as_string() : "";
  auto it = kCollections.find(kind);
  if (it == kCollections.end()) return invalidArgument("cannot apply an object of kind " + kind);
  std::string path = it->second;
  path.replace(path.find('%'), 1, ns);
  return path + field(obj, "metadata", "name");
}

std::string nowRfc3339() {
  return formatMicroTime(std::chrono::system_clock::now()).substr(0, 19) + "Z";
}

// One request to a server's HTTP API on <addr>:8500. Transport failures are errors.
StatusOr<web::http::http_response> serverRequest(const std::string& addr,
                                                 const web::http::method& method,
                                                 const std::string& path) {
  try {
    web::http::client::http_client_config cfg;
    cfg.set_timeout(std::chrono::seconds(2));
    web::http::client::http_client client("http://" + addr + ":" + std::to_string(kHttpPort), cfg);
    return client.request(method, path).get();
  } catch (const std::exception& e) {
    return unavailable(method + " http://" + addr + path + ": " + e.what());
  }
}

// GET as JSON; null on any failure (a server that is down or starting). Autopilot health
// answers 429 with a body when a server is unhealthy: that body is the answer too.
value getJson(const std::string& addr, const std::string& path) {
  auto response = serverRequest(addr, web::http::methods::GET, path);
  if (!response.isOk()) return value::null();
  int code = response->status_code();
  if (code != 200 && code != 429) return value::null();
  try {
    return response->extract_json(true).get();
  } catch (const std::exception&) {
    return value::null();
  }
}

// A Raft membership action through the first server that accepts it (followers relay).
Status membershipAction(const std::vector<std::string>& addresses, const Action& action) {
  std::string path =
      action.kind == ActionKind::kRemoveMember
          ? "/v1/operator/raft/peer?id=" + web::uri::encode_data_string(action.target)
          : "/v1/operator/raft/transfer-leader";
  auto method =
      action.kind == ActionKind::kRemoveMember ? web::http::methods::DEL : web::http::methods::POST;
  Status last = unavailable("no ready server to send " + path + " to");
  for (const std::string& addr : addresses) {
    auto response = serverRequest(addr, method, path);
    if (!response.isOk()) {
      last = response.status();
      continue;
    }
    if (response->status_code() == 200) return Status();
    last = unavailable(method + " " + path + ": HTTP " + std::to_string(response->status_code()) +
                       " " + response->extract_string(true).get());
  }
  return last;
}

}  // namespace

std::string OperatorMetrics::render() {
  std::ostringstream out;
  auto counter = [&](const char* name, const char* help, uint64_t v) {
    out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
        << name << " " << v << "\n";
  };
  counter("cairn_operator_reconciles_total", "Reconcile passes over one CairnCluster.",
          reconciles.load());
  counter("cairn_operator_reconcile_errors_total", "Reconcile passes that failed.", errors.load());
  counter("cairn_operator_membership_actions_total", "Raft membership actions carried out.",
          membership_actions.load());
  out << "# HELP cairn_operator_reconcile_seconds_total Time spent reconciling.\n"
      << "# TYPE cairn_operator_reconcile_seconds_total counter\n"
      << "cairn_operator_reconcile_seconds_total " << reconcile_micros_total.load() / 1e6 << "\n";
  out << "# HELP cairn_operator_leader 1 while this replica holds the Lease.\n"
      << "# TYPE cairn_operator_leader gauge\ncairn_operator_leader " << (leader.load() ? 1 : 0)
      << "\n";
  std::lock_guard<std::mutex> lock(mu);
  out << "# HELP cairn_operator_cluster_servers Desired servers per CairnCluster.\n"
      << "# TYPE cairn_operator_cluster_servers gauge\n";
  for (const auto& [name, sizes] : clusters) {
    out << "cairn_operator_cluster_servers{cluster=\"" << name << "\"} " << sizes.first << "\n";
  }
  out << "# HELP cairn_operator_cluster_ready_servers Ready server pods per CairnCluster.\n"
      << "# TYPE cairn_operator_cluster_ready_servers gauge\n";
  for (const auto& [name, sizes] : clusters) {
    out << "cairn_operator_cluster_ready_servers{cluster=\"" << name << "\"} " << sizes.second
        << "\n";
  }
  return out.str();
}

struct Operator::Http {
  metrics::Metrics metrics{"operator", "dev"};
  http::Router router;
  std::unique_ptr<http::HttpServer> server;
};

Operator::Operator(OperatorOptions options) : options_(std::move(options)) {
  if (options_.identity.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof(host) - 1);
    options_.identity = std::string(host) + "-" + std::to_string(getpid());
  }
}

Operator::~Operator() { stop(); }

Status Operator::start() {
  auto config = options_.kubeconfig.empty()
                    ? inClusterConfig([](const std::string& k) -> std::optional<std::string> {
                        const char* v = std::getenv(k.c_str());
                        return v ? std::optional<std::string>(v) : std::nullopt;
                      })
                    : loadKubeconfig(options_.kubeconfig);
  if (!config.isOk()) return config.status();
  kube_ = std::make_unique<KubeClient>(*config);
  KubeClient::Options watch_options;
  watch_options.watch_timeout_seconds = kWatchSeconds;
  watch_kube_ = std::make_unique<KubeClient>(*config, watch_options);
  if (!options_.webhook.service.empty()) {
    if (options_.webhook.name_space.empty()) options_.webhook.name_space = config->name_space;
    webhook_ = std::make_unique<Webhook>(options_.webhook, *kube_, *config);
    if (Status s = webhook_->start(); !s.isOk()) return s;
  }
  http_ = std::make_unique<Http>();
  auto text = [](int code, std::string body, std::string type) {
    http::HttpResponse r;
    r.status = code;
    r.body = std::move(body);
    r.content_type = std::move(type);
    return r;
  };
  http_->router.add({"/metrics",
                     false,
                     {"GET"},
                     [this, text](http::RequestPtr, http::Responder respond) {
                       std::string body = metrics_.render();
                       if (webhook_) body += webhook_->renderMetrics();
                       respond(text(200, body, "text/plain; version=0.0.4"));
                     },
                     http::Router::kDefaultMaxBody});
  http_->router.add({"/healthz",
                     false,
                     {"GET"},
                     [text](http::RequestPtr, http::Responder respond) {
                       respond(text(200, "ok\n", "text/plain"));
                     },
                     http::Router::kDefaultMaxBody});
  http_->router.add({"/readyz",
                     false,
                     {"GET"},
                     [this, text](http::RequestPtr, http::Responder respond) {
                       // With a webhook: only once it has a certificate to serve.
                       bool ok = ready_.load() && (!webhook_ || webhook_->ready());
                       respond(text(ok ? 200 : 503, ok ? "ok\n" : "not ready\n", "text/plain"));
                     },
                     http::Router::kDefaultMaxBody});
  http_->server = std::make_unique<http::HttpServer>(http_->router, http_->metrics);
  auto colon = options_.metrics_addr.rfind(':');
  if (colon == std::string::npos) return invalidArgument("-metrics-addr wants host:port");
  int port = std::atoi(options_.metrics_addr.c_str() + colon + 1);
  if (Status s = http_->server->start(options_.metrics_addr.substr(0, colon), port); !s.isOk()) {
    return s;
  }
  thread_ = std::thread([this] { loop(); });
  const std::string ns = nsPrefix(options_.watch_namespace);
  for (std::string collection :
       {std::string(kGroupPath) + ns + "/cairnclusters",
        "/apis/apps/v1" + ns + "/statefulsets?labelSelector=" +
            web::uri::encode_data_string("app.kubernetes.io/managed-by=cairn-operator"),
        "/api/v1" + ns + "/pods?labelSelector=" +
            web::uri::encode_data_string(
                "app.kubernetes.io/name=cairn,app.kubernetes.io/component=server")}) {
    watchers_.emplace_back([this, collection] { watchLoop(collection); });
  }
  return Status();
}

void Operator::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

void Operator::watchLoop(const std::string& collection) {
  while (!stopping_.load()) {
    Status s = watch_kube_->listWatch(
        collection,
        [this](const std::vector<value>&) {
          wake();
          return true;
        },
        [this](const WatchEvent&) {
          wake();
          return true;
        },
        stopping_);
    if (!s.isOk()) LOG_WARN("operator", "watch " << collection << ": " << s.toString());
    // The periodic resync still runs meanwhile; try the watch again after a pause.
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_.load(); });
  }
}

void Operator::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_.exchange(true)) return;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (std::thread& t : watchers_) {
    if (t.joinable()) t.join();
  }
  if (http_ && http_->server) http_->server->stop();
  if (webhook_) webhook_->stop();
}

int Operator::metricsPort() const { return http_ && http_->server ? http_->server->port() : 0; }

int Operator::webhookPort() const { return webhook_ ? webhook_->port() : 0; }

void Operator::loop() {
  LeaseLock lease(
      *kube_,
      {options_.lease_namespace, options_.lease_name, options_.identity, options_.lease_duration},
      [] { return std::chrono::system_clock::now(); });
  while (!stopping_.load()) {
    bool leader = true;
    if (options_.leader_elect) {
      auto held = lease.tryAcquireOrRenew();
      leader = held.isOk() && *held;
      if (!held.isOk()) LOG_WARN("operator", "lease: " << held.status().toString());
    }
    if (leader != metrics_.leader.exchange(leader)) {
      LOG_INFO("operator", (leader ? "became leader as " : "lost leadership as ")
                               << options_.identity);
    }
    ready_ = true;
    if (webhook_) webhook_->sync(leader);
    if (leader) reconcileAll();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kMinPassGap, [this] { return stopping_.load(); });
    cv_.wait_for(lock, options_.resync - kMinPassGap, [this] { return stopping_.load() || wake_; });
    wake_ = false;
  }
}

void Operator::reconcileAll() {
  auto list =
      kube_->get(std::string(kGroupPath) + nsPrefix(options_.watch_namespace) + "/cairnclusters");
  if (!list.isOk()) {
    metrics_.errors++;
    LOG_WARN("operator", "list CairnClusters: " << list.status().toString());
    return;
  }
  if (!list->has_field("items") || !list->at("items").is_array()) return;
  for (const value& item : list->at("items").as_array()) {
    auto start = std::chrono::steady_clock::now();
    Status s;
    try {
      s = reconcileOne(item);
    } catch (const std::exception& e) {  // a malformed object: log it and go on, never crash
      s = invalidArgument(std::string("malformed object: ") + e.what());
    }
    metrics_.reconciles++;
    metrics_.reconcile_micros_total += std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - start)
                                           .count();
    if (!s.isOk()) {
      metrics_.errors++;
      LOG_WARN("operator", "reconcile " << field(item, "metadata", "namespace") << "/"
                                        << field(item, "metadata", "name") << ": " << s.toString());
    }
  }
}

StatusOr<ObservedState> Operator::observe(const ObservedCluster& cluster,
                                          std::vector<std::string>& addresses) {
  ObservedState state;
  state.cluster = cluster;
  state.now = nowRfc3339();
  const std::string ns = cluster.name_space;
  auto sts = kube_->call("GET", "/apis/apps/v1/namespaces/" + ns + "/statefulsets/" + cluster.name);
  if (!sts.isOk()) return sts.status();
  if (sts->status == 200) {
    auto observed = observeStatefulSet(sts->body);
    if (!observed.isOk()) return observed.status();
    state.statefulset = *observed;
  } else if (sts->status != 404) {
    return toStatus(*sts);
  }
  auto pods = kube_->get("/api/v1/namespaces/" + ns + "/pods?labelSelector=" +
                         web::uri::encode_data_string(podSelector(cluster.name)));
  if (!pods.isOk()) return pods.status();
  if (!pods->has_field("items") || !pods->at("items").is_array()) {
    return unavailable("pod list without items");
  }
  std::vector<std::string> not_ready;  // IPs of server pods that are not Ready
  for (const value& pod : pods->at("items").as_array()) {
    auto observed = observePod(pod);
    if (!observed.isOk()) continue;  // not one of ours in shape: skip, never crash
    state.pods.push_back(*observed);
    std::string ip = field(pod, "status", "podIP");
    if (ip.empty()) continue;
    (observed->ready ? addresses : not_ready).push_back(ip);
  }
  auto pvcs = kube_->get("/api/v1/namespaces/" + ns + "/persistentvolumeclaims?labelSelector=" +
                         web::uri::encode_data_string(podSelector(cluster.name)));
  if (pvcs.isOk() && pvcs->has_field("items") && pvcs->at("items").is_array()) {
    for (const value& pvc : pvcs->at("items").as_array()) {
      state.pvcs.push_back(field(pvc, "metadata", "name"));
    }
  }
  state.raft = readRaftView(addresses, not_ready);
  return state;
}

RaftView Operator::readRaftView(const std::vector<std::string>& ready,
                                const std::vector<std::string>& not_ready) {
  // From the first ready server that answers (it relays to the leader).
  for (const std::string& addr : ready) {
    value config = getJson(addr, "/v1/operator/raft/configuration");
    if (config.is_null()) continue;
    value autopilot = getJson(addr, "/v1/operator/autopilot/health");
    value leader = getJson(addr, "/v1/status/leader");
    auto raft = observeRaft(config, autopilot, leader.is_string() ? leader.as_string() : "");
    if (raft.isOk()) return *raft;
  }
  // None: no leader, or one without a healthy majority (a server is Ready only in a cluster
  // with a leader). A server that is not Ready still tells its own, possibly stale, view of the
  // members: the status can then say "no leader" rather than "no server answers". It is never
  // taken as a leader's word: without a confirmed leader the reconciler only holds.
  for (const std::string& addr : not_ready) {
    value config = getJson(addr, "/v1/operator/raft/configuration?stale");
    if (config.is_null()) continue;
    auto raft = observeRaft(config, value::null(), "");
    if (raft.isOk()) return *raft;
  }
  return RaftView{};
}

Status Operator::reconcileOne(const value& object) {
  auto cluster = observeCluster(object);
  if (!cluster.isOk()) return cluster.status();
  std::vector<std::string> addresses;  // of the ready server pods
  auto state = observe(*cluster, addresses);
  if (!state.isOk()) return state.status();
  Decision decision = reconcile(*state);
  {
    std::lock_guard<std::mutex> lock(metrics_.mu);
    int ready = 0;
    for (const auto& p : state->pods) ready += p.ready ? 1 : 0;
    metrics_.clusters[cluster->name_space + "/" + cluster->name] = {cluster->spec.servers, ready};
  }
  return carryOut(*state, decision, addresses);
}

Status Operator::carryOut(const ObservedState& state, const Decision& decision,
                          const std::vector<std::string>& addresses) {
  const ObservedCluster& c = state.cluster;
  const std::string ns = c.name_space;
  for (const value& obj : decision.apply) {
    auto path = objectPath(obj, ns);
    if (!path.isOk()) return path.status();
    auto applied = kube_->apply(*path, obj, kFieldManager);
    if (!applied.isOk()) return applied.status();
  }
  const Action& a = decision.action;
  Status acted;
  switch (a.kind) {
    case ActionKind::kScaleStatefulSet: {
      value patch;
      patch["spec"]["replicas"] = value::number(a.replicas);
      acted = kube_->mergePatch("/apis/apps/v1/namespaces/" + ns + "/statefulsets/" + c.name, patch)
                  .status();
      break;
    }
    case ActionKind::kDeletePod:
      acted = kube_->remove("/api/v1/namespaces/" + ns + "/pods/" + a.target);
      break;
    case ActionKind::kDeletePvc:
      acted = kube_->remove("/api/v1/namespaces/" + ns + "/persistentvolumeclaims/" + a.target);
      break;
    case ActionKind::kTransferLeadership:
    case ActionKind::kRemoveMember:
      metrics_.membership_actions++;
      acted = membershipAction(addresses, a);
      break;
    default:
      break;
  }
  if (!decision.status.is_null()) {
    value patch;
    patch["status"] = decision.status;
    // The whole status, without a resourceVersion: a 409 (another writer got in between) is
    // simply written again. The next decision reads this status back (the conditions it
    // holds decide which Warning Events are new), so it is worth not losing.
    StatusOr<value> written = conflict("not written yet");
    for (int attempt = 0; attempt < 3; ++attempt) {
      written = kube_->mergePatch(
          std::string(kGroupPath) + "/namespaces/" + ns + "/cairnclusters/" + c.name + "/status",
          patch);
      if (written.status().code() != StatusCode::kConflict) break;
    }
    if (!written.isOk()) {
      LOG_WARN("operator", "status of " << c.name << ": " << written.status().toString());
    }
  }
  for (const Event& e : decision.events) {
    auto created = kube_->create("/api/v1/namespaces/" + ns + "/events",
                                 eventObject(c, e, state.now, options_.identity));
    if (!created.isOk()) LOG_WARN("operator", "event: " << created.status().toString());
  }
  return acted;
}

}  // namespace cairn::op
