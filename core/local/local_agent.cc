#include "core/local/local_agent.h"

#include "core/base/logging.h"
#include "core/local/local_agent_impl.h"

namespace cairn::local {
namespace {

constexpr char kComponent[] = "local";

}  // namespace

LocalAgent::Impl::Impl(AgentIdentity identity, LocalOptions options, LocalDeps deps)
    : identity_(std::move(identity)),
      options_(options),
      deps_(deps),
      persistence_(deps.db),
      runner_random_(deps.seed ^ 0x9e3779b97f4a7c15ull),
      random_(deps.seed),
      retry_delay_(options.retry_min) {}

Status LocalAgent::Impl::init() {
  std::weak_ptr<Impl> weak = weak_from_this();
  health::CheckRunner::Deps runner_deps{deps_.scheduler, &runner_random_, deps_.probers};
  runner_ = std::make_unique<health::CheckRunner>(
      runner_deps,
      [weak](const std::string& id, health::CheckStatus status, const std::string& out) {
        if (auto self = weak.lock()) self->onCheckUpdate(id, status, out);
      });
  return load();
}

// Restores services first (checks refer to them). A TTL check comes back in its last status;
// other checks start over from their initial status, as in Consul.
Status LocalAgent::Impl::load() {
  auto loaded = persistence_.load();
  if (!loaded.isOk()) return loaded.status();
  std::lock_guard reg(reg_mu_);
  for (const auto& s : loaded->services) {
    std::lock_guard lock(mu_);
    services_[s.service().id()] = ServiceEntry{s.service(), false, next_version_++};
  }
  for (const auto& stored : loaded->checks) {
    CheckEntry e;
    e.check = stored.check();
    e.definition = definitionOf(stored.definition());
    e.initial_status = stored.initial_status();
    health::CheckKind kind = e.definition.kind();
    if (kind != health::CheckKind::kTtl) {
      e.check.set_status(e.initial_status.empty() ? "critical" : e.initial_status);
      if (kind != health::CheckKind::kNone) e.check.clear_output();
    }
    if (auto st = health::parseCheckStatus(e.check.status()); st.isOk()) {
      e.definition.initial_status = *st;
    }
    const std::string id = e.check.check_id();
    if (!e.check.service_id().empty() && services_.count(e.check.service_id()) == 0) continue;
    {
      std::lock_guard lock(mu_);
      e.version = next_version_++;
      checks_[id] = e;
    }
    if (kind == health::CheckKind::kNone) continue;
    if (Status s = runner_->add(id, e.definition); !s.isOk()) {
      LOG_WARN(kComponent, "cannot restore check " << id << ": " << s.message());
    }
  }
  LOG_INFO(kComponent, "local registry: " << services_.size() << " services, " << checks_.size()
                                          << " checks restored");
  return Status::ok();
}

v1::CatalogCheck LocalAgent::Impl::withServiceFields(const CheckEntry& e) const {
  v1::CatalogCheck c = e.check;
  c.set_node(identity_.node_name);
  if (auto it = services_.find(c.service_id()); !c.service_id().empty() && it != services_.end()) {
    c.set_service_name(it->second.service.service());
    c.mutable_service_tags()->CopyFrom(it->second.service.tags());
  }
  return c;
}

std::vector<v1::CatalogService> LocalAgent::Impl::services() const {
  std::lock_guard lock(mu_);
  std::vector<v1::CatalogService> out;
  for (const auto& [id, e] : services_) out.push_back(e.service);
  return out;
}

std::optional<v1::CatalogService> LocalAgent::Impl::service(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = services_.find(id);
  if (it == services_.end()) return std::nullopt;
  return it->second.service;
}

std::vector<v1::CatalogCheck> LocalAgent::Impl::checks(
    const std::function<bool(const v1::CatalogCheck&)>& keep) const {
  std::lock_guard lock(mu_);
  std::vector<v1::CatalogCheck> out;
  for (const auto& [id, e] : checks_) {
    if (keep(e.check)) out.push_back(withServiceFields(e));
  }
  return out;
}

// Runs on a runner thread, serialised with other updates (see check_runner.h).
void LocalAgent::Impl::onCheckUpdate(const std::string& id, health::CheckStatus status,
                                     const std::string& output) {
  std::optional<localstore::StoredLocalCheck> to_persist;
  bool push = false;
  {
    std::lock_guard lock(mu_);
    auto it = checks_.find(id);
    if (it == checks_.end()) return;
    CheckEntry& e = it->second;
    std::string name(health::checkStatusName(status));
    bool status_changed = name != e.check.status();
    if (!status_changed && output == e.check.output()) return;
    e.check.set_status(name);
    e.check.set_output(output);
    e.version = next_version_++;
    SteadyTime now = deps_.scheduler->now();
    Nanos every = options_.check_update_interval;
    bool due = !e.last_output_sync || every.count() <= 0 || now >= *e.last_output_sync + every;
    if (status_changed || due) {
      if (e.defer_timer != 0) deps_.scheduler->cancel(e.defer_timer);
      e.defer_timer = 0;
      e.output_deferred = false;
      e.in_sync = false;
      push = true;
    } else if (!e.output_deferred) {
      e.output_deferred = true;
      std::weak_ptr<Impl> weak = weak_from_this();
      e.defer_timer = deps_.scheduler->runAt(*e.last_output_sync + every, [weak, id] {
        if (auto self = weak.lock()) self->onDeferredOutput(id);
      });
    }
    if (e.definition.kind() == health::CheckKind::kTtl) to_persist = storedCheck(e);
  }
  if (to_persist) {
    if (Status s = persistence_.putCheck(*to_persist, false); !s.isOk()) {
      LOG_WARN(kComponent, "cannot persist check " << id << ": " << s.message());
    }
  }
  if (push) requestSync(false);
}

SyncStats LocalAgent::Impl::syncStats() const {
  std::lock_guard lock(mu_);
  SyncStats stats = stats_;
  stats.in_sync = node_in_sync_ && remove_services_.empty() && remove_checks_.empty();
  for (const auto& [id, e] : services_) stats.in_sync = stats.in_sync && e.in_sync;
  for (const auto& [id, e] : checks_)
    stats.in_sync = stats.in_sync && (e.in_sync || e.output_deferred);
  return stats;
}

// ---- LocalAgent ----

StatusOr<std::unique_ptr<LocalAgent>> LocalAgent::open(AgentIdentity identity, LocalOptions options,
                                                       LocalDeps deps) {
  auto impl = std::make_shared<Impl>(std::move(identity), options, deps);
  CAIRN_RETURN_IF_ERROR(impl->init());
  return std::unique_ptr<LocalAgent>(new LocalAgent(std::move(impl)));
}

LocalAgent::~LocalAgent() { stop(); }
void LocalAgent::start() { impl_->start(); }
void LocalAgent::stop() { impl_->stop(); }
const AgentIdentity& LocalAgent::identity() const { return impl_->identity(); }
bool LocalAgent::scriptChecksEnabled() const { return impl_->options().enable_script_checks; }

Status LocalAgent::addService(ServiceRegistration r, bool replace_existing_checks) {
  return impl_->addService(std::move(r), replace_existing_checks);
}
Status LocalAgent::removeService(const std::string& id) { return impl_->removeService(id); }
Status LocalAgent::addCheck(CheckRegistration r) { return impl_->addCheck(std::move(r)); }
Status LocalAgent::removeCheck(const std::string& id) { return impl_->removeCheck(id); }
Status LocalAgent::updateTtl(const std::string& id, health::CheckStatus status,
                             std::string_view output) {
  return impl_->updateTtl(id, status, output);
}
Status LocalAgent::setNodeMaintenance(bool enable, const std::string& reason) {
  return impl_->setNodeMaintenance(enable, reason);
}
Status LocalAgent::setServiceMaintenance(const std::string& id, bool enable,
                                         const std::string& reason) {
  return impl_->setServiceMaintenance(id, enable, reason);
}

std::vector<v1::CatalogService> LocalAgent::services() const { return impl_->services(); }
std::optional<v1::CatalogService> LocalAgent::service(const std::string& id) const {
  return impl_->service(id);
}
std::vector<v1::CatalogCheck> LocalAgent::checks() const {
  return impl_->checks([](const v1::CatalogCheck&) { return true; });
}
std::vector<v1::CatalogCheck> LocalAgent::serviceChecks(const std::string& service_id) const {
  return impl_->checks([&](const v1::CatalogCheck& c) { return c.service_id() == service_id; });
}
std::vector<v1::CatalogCheck> LocalAgent::nodeChecks() const {
  return impl_->checks([](const v1::CatalogCheck& c) { return c.service_id().empty(); });
}
void LocalAgent::syncNow() { impl_->requestSync(true); }
SyncStats LocalAgent::syncStats() const { return impl_->syncStats(); }

}  // namespace cairn::local
