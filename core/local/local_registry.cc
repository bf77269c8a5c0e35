// LocalAgent registration: services, checks, TTL updates and maintenance mode.
#include "core/base/logging.h"
#include "core/local/local_agent_impl.h"

namespace cairn::local {
namespace {

constexpr char kComponent[] = "local";
constexpr char kNodeMaintenanceReason[] =
    "Maintenance mode is enabled for this node, but no reason was provided. This is a default "
    "message.";
constexpr char kServiceMaintenanceReason[] =
    "Maintenance mode is enabled for this service, but no reason was provided. This is a default "
    "message.";

bool isIntervalKind(health::CheckKind k) {
  return k == health::CheckKind::kHttp || k == health::CheckKind::kTcp ||
         k == health::CheckKind::kGrpc || k == health::CheckKind::kScript;
}

// Type, Interval, Timeout and Definition as the catalog shows them, from the normalized
// definition.
void describeCheck(const health::CheckDefinition& n, v1::CatalogCheck& c) {
  health::CheckKind kind = n.kind();
  c.set_type(std::string(health::checkKindName(kind)));
  v1::CheckDefinitionInfo& d = *c.mutable_definition();
  d.Clear();
  c.clear_interval();
  c.clear_timeout();
  if (isIntervalKind(kind)) {
    c.set_interval(formatGoDuration(n.interval));
    c.set_timeout(formatGoDuration(n.timeout));
    d.set_interval_ns(n.interval.count());
    d.set_timeout_ns(n.timeout.count());
  }
  d.set_http(n.http);
  d.set_method(kind == health::CheckKind::kHttp ? n.method : "");
  for (const auto& [name, values] : n.header) {
    for (const auto& v : values) (*d.mutable_header())[name].add_values(v);
  }
  d.set_body(n.body);
  d.set_tls_server_name(n.tls_server_name);
  d.set_tls_skip_verify(n.tls_skip_verify);
  d.set_tcp(n.tcp);
  d.set_grpc(n.grpc);
  d.set_grpc_use_tls(n.grpc_use_tls);
  d.set_deregister_critical_service_after_ns(n.deregister_critical_service_after.count());
}

Status unknownService(const std::string& id) {
  return notFound("Unknown service ID \"" + id +
                  "\". Ensure that the service ID is passed, not the service name.");
}

}  // namespace

Status LocalAgent::Impl::prepareCheck(CheckRegistration& r) const {
  if (r.check.check_id().empty()) return invalidArgument("Missing check ID");
  health::CheckKind kind = r.definition.kind();
  if (kind == health::CheckKind::kScript && !options_.enable_script_checks) {
    return invalidArgument(
        "Scripts are disabled on this agent from remote calls; to enable, configure "
        "'enable_script_checks' to true");
  }
  if (kind == health::CheckKind::kNone) {
    return invalidArgument("Invalid check: TTL must be > 0 for TTL checks");
  }
  const std::string& st = r.check.status();
  if (!st.empty() && st != "passing" && st != "warning" && st != "critical") {
    return invalidArgument("Status for checks must 'passing', 'warning', 'critical'");
  }
  if (!st.empty()) r.definition.initial_status = *health::parseCheckStatus(st);
  auto normalized = r.definition.normalized();
  if (!normalized.isOk()) return invalidArgument("Invalid check: " + normalized.status().message());
  describeCheck(*normalized, r.check);
  r.check.set_status(st.empty() ? "critical" : st);
  r.check.clear_node();
  r.check.clear_service_name();
  r.check.clear_service_tags();
  r.check.clear_create_index();
  r.check.clear_modify_index();
  return Status::ok();
}

localstore::StoredLocalCheck LocalAgent::Impl::storedCheck(const CheckEntry& e) const {
  localstore::StoredLocalCheck s;
  *s.mutable_check() = e.check;
  *s.mutable_definition() = storedDefinition(e.definition);
  s.set_initial_status(e.initial_status);
  return s;
}

// Inserts the entries first and then starts the checks, so that no result is lost; a check the
// runner refuses is taken out again.
Status LocalAgent::Impl::installChecks(std::vector<CheckRegistration> checks) {
  for (auto& r : checks) {
    const std::string id = r.check.check_id();
    if (runner_) (void)runner_->remove(id);
    CheckEntry e;
    e.initial_status = r.check.status();
    e.check = std::move(r.check);
    e.definition = std::move(r.definition);
    localstore::StoredLocalCheck stored;
    {
      std::lock_guard lock(mu_);
      if (auto old = checks_.find(id); old != checks_.end() && old->second.defer_timer != 0) {
        deps_.scheduler->cancel(old->second.defer_timer);
      }
      e.version = next_version_++;
      remove_checks_.erase(id);
      stored = storedCheck(e);
      checks_[id] = e;
    }
    Status s = runner_ ? runner_->add(id, e.definition) : unavailable("agent is shutting down");
    if (!s.isOk()) {
      std::lock_guard lock(mu_);
      checks_.erase(id);
      return invalidArgument("Invalid check: " + s.message());
    }
    CAIRN_RETURN_IF_ERROR(persistence_.putCheck(stored, true));
  }
  return Status::ok();
}

Status LocalAgent::Impl::addService(ServiceRegistration r, bool replace_existing_checks) {
  v1::CatalogService& svc = r.service;
  if (svc.service().empty()) return invalidArgument("Missing service name");
  if (svc.id().empty()) svc.set_id(svc.service());
  if (svc.weight_passing() == 0) svc.set_weight_passing(1);
  if (svc.weight_warning() == 0) svc.set_weight_warning(1);
  svc.clear_create_index();
  svc.clear_modify_index();
  std::set<std::string> new_ids;
  for (auto& c : r.checks) {
    c.check.set_service_id(svc.id());
    CAIRN_RETURN_IF_ERROR(prepareCheck(c));
    new_ids.insert(c.check.check_id());
  }
  std::lock_guard reg(reg_mu_);
  localstore::StoredLocalService stored;
  *stored.mutable_service() = svc;
  CAIRN_RETURN_IF_ERROR(persistence_.putService(stored, true));
  std::vector<std::string> stale;
  {
    std::lock_guard lock(mu_);
    services_[svc.id()] = ServiceEntry{svc, false, next_version_++};
    remove_services_.erase(svc.id());
    for (const auto& [id, e] : checks_) {
      bool maintenance = id.rfind(kServiceMaintenancePrefix, 0) == 0;
      if (replace_existing_checks && e.check.service_id() == svc.id() && !maintenance &&
          new_ids.count(id) == 0) {
        stale.push_back(id);
      }
    }
  }
  for (const auto& id : stale) removeCheckLocked(id);
  Status s = installChecks(std::move(r.checks));
  requestSync(false);
  return s;
}

// Requires reg_mu_.
void LocalAgent::Impl::removeCheckLocked(const std::string& id) {
  if (runner_) (void)runner_->remove(id);
  {
    std::lock_guard lock(mu_);
    auto it = checks_.find(id);
    if (it == checks_.end()) return;
    if (it->second.defer_timer != 0) deps_.scheduler->cancel(it->second.defer_timer);
    checks_.erase(it);
    remove_checks_.insert(id);
  }
  if (Status s = persistence_.eraseCheck(id); !s.isOk()) {
    LOG_WARN(kComponent, "cannot forget check " << id << ": " << s.message());
  }
}

Status LocalAgent::Impl::removeService(const std::string& id) {
  std::lock_guard reg(reg_mu_);
  std::vector<std::string> owned;
  {
    std::lock_guard lock(mu_);
    if (services_.count(id) == 0) return unknownService(id);
    for (const auto& [check_id, e] : checks_) {
      if (e.check.service_id() == id) owned.push_back(check_id);
    }
  }
  for (const auto& c : owned) removeCheckLocked(c);
  {
    std::lock_guard lock(mu_);
    services_.erase(id);
    for (const auto& c : owned) remove_checks_.erase(c);  // they go with the service
    remove_services_.insert(id);
  }
  Status s = persistence_.eraseService(id);
  requestSync(false);
  return s;
}

Status LocalAgent::Impl::addCheck(CheckRegistration r) {
  CAIRN_RETURN_IF_ERROR(prepareCheck(r));
  std::lock_guard reg(reg_mu_);
  if (const std::string& sid = r.check.service_id(); !sid.empty()) {
    std::lock_guard lock(mu_);
    if (services_.count(sid) == 0) return notFound("ServiceID \"" + sid + "\" does not exist");
  }
  std::vector<CheckRegistration> one;
  one.push_back(std::move(r));
  Status s = installChecks(std::move(one));
  requestSync(false);
  return s;
}

Status LocalAgent::Impl::removeCheck(const std::string& id) {
  std::lock_guard reg(reg_mu_);
  {
    std::lock_guard lock(mu_);
    if (checks_.count(id) == 0) {
      return notFound("Unknown check ID \"" + id +
                      "\". Ensure that the check ID is passed, not the check name.");
    }
  }
  removeCheckLocked(id);
  requestSync(false);
  return Status::ok();
}

Status LocalAgent::Impl::updateTtl(const std::string& id, health::CheckStatus status,
                                   std::string_view output) {
  std::lock_guard reg(reg_mu_);
  Status no_ttl = internalError("CheckID \"" + id + "\" does not have associated TTL");
  {
    std::lock_guard lock(mu_);
    auto it = checks_.find(id);
    if (it == checks_.end() || it->second.definition.kind() != health::CheckKind::kTtl) {
      return no_ttl;
    }
  }
  if (!runner_) return unavailable("agent is shutting down");
  Status s = runner_->ttlUpdate(id, status, output);
  return s.isOk() ? s : no_ttl;
}

// Requires reg_mu_. Maintenance checks do not run: they are critical until removed.
Status LocalAgent::Impl::putMaintenanceCheck(v1::CatalogCheck check) {
  check.set_status("critical");
  check.set_type("maintenance");
  CheckEntry e;
  e.check = std::move(check);
  e.initial_status = "critical";
  localstore::StoredLocalCheck stored;
  {
    std::lock_guard lock(mu_);
    e.version = next_version_++;
    remove_checks_.erase(e.check.check_id());
    stored = storedCheck(e);
    checks_[e.check.check_id()] = std::move(e);
  }
  Status s = persistence_.putCheck(stored, true);
  requestSync(false);
  return s;
}

Status LocalAgent::Impl::setNodeMaintenance(bool enable, const std::string& reason) {
  std::lock_guard reg(reg_mu_);
  if (!enable) {
    removeCheckLocked(kNodeMaintenanceCheckId);
    requestSync(false);
    return Status::ok();
  }
  v1::CatalogCheck c;
  c.set_check_id(kNodeMaintenanceCheckId);
  c.set_name("Node Maintenance Mode");
  c.set_notes(reason.empty() ? kNodeMaintenanceReason : reason);
  return putMaintenanceCheck(std::move(c));
}

Status LocalAgent::Impl::setServiceMaintenance(const std::string& id, bool enable,
                                               const std::string& reason) {
  std::lock_guard reg(reg_mu_);
  {
    std::lock_guard lock(mu_);
    if (services_.count(id) == 0) return notFound("No service registered with ID \"" + id + "\"");
  }
  std::string check_id = kServiceMaintenancePrefix + id;
  if (!enable) {
    removeCheckLocked(check_id);
    requestSync(false);
    return Status::ok();
  }
  v1::CatalogCheck c;
  c.set_check_id(check_id);
  c.set_name("Service Maintenance Mode");
  c.set_notes(reason.empty() ? kServiceMaintenanceReason : reason);
  c.set_service_id(id);
  LOG_INFO(kComponent, "service " << id << " entered maintenance mode");
  return putMaintenanceCheck(std::move(c));
}

}  // namespace cairn::local
