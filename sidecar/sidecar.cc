#include "sidecar/sidecar.h"

#include <fstream>

#include "agent/version.h"
#include "core/base/logging.h"
#include "core/http/io_pool.h"

namespace cairn::sidecar {
namespace {

constexpr char kComponent[] = "sidecar";

// The registrar's view of the client agent's local registry.
class LocalRegistry final : public Registry {
 public:
  explicit LocalRegistry(local::LocalAgent& agent) : agent_(agent) {}
  Status addService(local::ServiceRegistration registration) override {
    return agent_.addService(std::move(registration), /*replace_existing_checks=*/true);
  }
  Status removeService(const std::string& id) override { return agent_.removeService(id); }
  std::set<std::string> managedServiceIds() const override {
    std::set<std::string> ids;
    for (const auto& s : agent_.services()) {
      auto it = s.meta().find(kManagedByKey);
      if (it != s.meta().end() && it->second == kManagedByValue) ids.insert(s.id());
    }
    return ids;
  }
  Status setServiceMaintenance(const std::string& id, bool enable,
                               const std::string& reason) override {
    return agent_.setServiceMaintenance(id, enable, reason);
  }

 private:
  local::LocalAgent& agent_;
};

void logResult(const char* what, const ApplyResult& r) {
  if (r.registered > 0 || r.removed > 0) {
    LOG_INFO(kComponent,
             what << ": " << r.registered << " registered, " << r.removed << " deregistered");
  }
  for (const auto& e : r.errors) LOG_WARN(kComponent, what << ": " << e);
}

void text(http::Responder& respond, int status, std::string body) {
  http::HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::move(body);
  respond(std::move(r));
}

}  // namespace

StatusOr<std::unique_ptr<Sidecar>> Sidecar::start(config::AgentConfig config,
                                                  SidecarOptions options, PodIdentity pod,
                                                  std::map<std::string, int> ports) {
  std::unique_ptr<Sidecar> s(new Sidecar(std::move(options), std::move(pod), std::move(ports)));
  auto agent = agent::client::ClientAgent::start(config, {});
  if (!agent.isOk()) return agent.status();
  s->agent_ = std::move(*agent);
  s->registry_ = std::make_unique<LocalRegistry>(s->agent_->localAgent());
  s->registrar_ = std::make_unique<Registrar>(*s->registry_);
  s->refresh();
  CAIRN_RETURN_IF_ERROR(s->startProbes());
  s->watcher_ = std::thread([raw = s.get()] { raw->watchLoop(); });
  return s;
}

Sidecar::~Sidecar() { drainAndStop(); }

Status Sidecar::startProbes() {
  if (options_.probe_port < 0) return Status::ok();
  auto route = [this](std::string path, http::Handler handler) {
    probe_router_.add({std::move(path), false, {"GET", "HEAD"}, std::move(handler), 0});
  };
  route("/live", [](http::RequestPtr, http::Responder respond) { text(respond, 200, "alive\n"); });
  route("/ready", [this](http::RequestPtr, http::Responder respond) {
    if (ready()) return text(respond, 200, "ready\n");
    text(respond, 503,
         draining_ ? "draining\n" : "not ready: the pod's services are not in the catalog yet\n");
  });
  route("/metrics", [this](http::RequestPtr, http::Responder respond) {
    http::HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = agent_->metrics().render();
    respond(std::move(r));
  });
  // On the agent's I/O pool: a server of its own would start threads of its own.
  http::HttpServerOptions probe_options;
  probe_options.pool = &http::sharedIoPool();
  probe_server_ =
      std::make_unique<http::HttpServer>(probe_router_, agent_->metrics(), probe_options);
  return probe_server_->start(options_.probe_addr, options_.probe_port);
}

int Sidecar::probePort() const { return probe_server_ ? probe_server_->port() : -1; }

bool Sidecar::ready() const {
  if (draining_ || !registrations_applied_) return false;
  return agent_->localAgent().syncStats().node_registered;
}

void Sidecar::refresh() {
  PodMetadata metadata;
  if (!options_.podinfo_dir.empty()) {
    auto read = readPodInfoDir(options_.podinfo_dir);
    if (!read.isOk()) {
      // The kubelet replaces the files atomically, so a bad read is bad content: keep what was
      // applied and say why.
      LOG_WARN(kComponent, "pod info not applied: " << read.status().message());
      return;
    }
    metadata = std::move(*read);
  }
  if (applied_once_ && metadata.annotations == last_metadata_.annotations &&
      metadata.labels == last_metadata_.labels) {
    return;
  }
  SidecarPlan plan = planRegistrations(pod_, metadata, ports_);
  for (const auto& p : plan.problems) LOG_WARN(kComponent, "annotation: " << p);
  ApplyResult result = registrar_->apply(plan);
  logResult("registrations", result);
  last_metadata_ = std::move(metadata);
  applied_once_ = true;
  registrations_applied_ = result.errors.empty();
}

void Sidecar::watchLoop() {
  std::unique_lock lock(mu_);
  while (!stop_watch_) {
    cv_.wait_for(lock, options_.podinfo_interval, [this] { return stop_watch_; });
    if (stop_watch_) break;
    lock.unlock();
    refresh();
    lock.lock();
  }
}

void Sidecar::drainAndStop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    stop_watch_ = true;
  }
  cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
  if (!agent_) return;
  draining_ = true;
  LOG_INFO(kComponent, "draining: services critical for " << formatGoDuration(options_.drain_time)
                                                          << ", then deregistered");
  logResult("drain", registrar_->markCritical());
  std::this_thread::sleep_for(options_.drain_time);
  logResult("drain", registrar_->deregisterAll());
  // Give anti-entropy a moment to carry the deregistrations to a server before leaving.
  auto deadline = std::chrono::steady_clock::now() + options_.deregister_wait;
  while (std::chrono::steady_clock::now() < deadline && !agent_->localAgent().syncStats().in_sync) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (probe_server_) probe_server_->stop();
  agent_->stop();
}

}  // namespace cairn::sidecar
