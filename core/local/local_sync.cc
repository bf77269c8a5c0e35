// LocalAgent anti-entropy (docs/consul-api.md §6) and the DeregisterCriticalServiceAfter reaper.
//
// Every entry carries an in_sync flag. A change clears it and requests a round; a round proposes
// the out-of-sync entries one command at a time (node first, then removals, services with their
// checks, checks) and marks each in sync once applied, unless it changed meanwhile (versions). A
// full reconciliation first compares every entry with the catalog, so identical data is never
// proposed again, and queues catalog entries on this node that are unknown locally for removal.
// All of this runs on the scheduler's thread; one round at a time.
#include <algorithm>

#include "core/base/logging.h"
#include "core/local/local_agent_impl.h"

namespace cairn::local {
namespace {

constexpr char kComponent[] = "local";

}  // namespace

void LocalAgent::Impl::post(std::function<void(Impl&)> fn, SteadyTime when) {
  std::weak_ptr<Impl> weak = weak_from_this();
  deps_.scheduler->runAt(when, [weak, fn = std::move(fn)] {
    if (auto self = weak.lock()) fn(*self);
  });
}

void LocalAgent::Impl::start() {
  std::lock_guard lock(mu_);
  if (started_ || stopped_) return;
  started_ = true;
  full_pending_ = true;
  round_running_ = true;
  post([](Impl& self) { self.runRound(); }, deps_.scheduler->now());
  scheduleFullSyncLocked();
  scheduleReaperLocked();
}

void LocalAgent::Impl::stop() {
  std::unique_ptr<health::CheckRunner> runner;
  {
    std::lock_guard reg(reg_mu_);
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto id : {full_timer_, reaper_timer_, retry_timer_}) {
      if (id != 0) deps_.scheduler->cancel(id);
    }
    for (auto& [id, e] : checks_) {
      if (e.defer_timer != 0) deps_.scheduler->cancel(e.defer_timer);
    }
    runner = std::move(runner_);
  }
  runner.reset();  // waits for a check update in progress
}

void LocalAgent::Impl::scheduleFullSyncLocked() {
  Nanos base = options_.sync_interval;
  auto spread = static_cast<uint64_t>(std::max<int64_t>(base.count() / 2, 1));
  Nanos wait = base - base / 4 + Nanos(random_.uniform(spread));
  std::weak_ptr<Impl> weak = weak_from_this();
  full_timer_ = deps_.scheduler->runAt(deps_.scheduler->now() + wait, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->requestSync(true);
    std::lock_guard lock(self->mu_);
    if (!self->stopped_) self->scheduleFullSyncLocked();
  });
}

void LocalAgent::Impl::scheduleReaperLocked() {
  std::weak_ptr<Impl> weak = weak_from_this();
  reaper_timer_ = deps_.scheduler->runAt(deps_.scheduler->now() + options_.reaper_interval, [weak] {
    auto self = weak.lock();
    if (!self) return;
    self->reap();
    std::lock_guard lock(self->mu_);
    if (!self->stopped_) self->scheduleReaperLocked();
  });
}

void LocalAgent::Impl::requestSync(bool full) {
  std::lock_guard lock(mu_);
  if (full) full_pending_ = true;
  if (!started_ || stopped_ || round_running_) return;  // the running round picks it up
  round_running_ = true;
  post([](Impl& self) { self.runRound(); }, deps_.scheduler->now());
}

void LocalAgent::Impl::runRound() {
  bool full = false;
  {
    std::lock_guard lock(mu_);
    retry_timer_ = 0;
    if (stopped_) {
      round_running_ = false;
      return;
    }
    full = full_pending_;
    full_pending_ = false;
  }
  if (full) return readCatalog(true);
  continueRound(nullptr, false);
}

void LocalAgent::Impl::readCatalog(bool full) {
  std::weak_ptr<Impl> weak = weak_from_this();
  deps_.catalog->readNode(identity_.node_name, [weak, full](StatusOr<NodeCatalog> rows) {
    auto self = weak.lock();
    if (!self) return;
    self->post([rows = std::move(rows), full](Impl& me) { me.onCatalogRead(rows, full); },
               self->deps_.scheduler->now());
  });
}

void LocalAgent::Impl::onCatalogRead(const StatusOr<NodeCatalog>& rows, bool full) {
  if (rows.isOk()) return continueRound(&*rows, full);
  std::lock_guard lock(mu_);
  if (stopped_) {
    round_running_ = false;
    return;
  }
  ++stats_.failures;
  if (full) full_pending_ = true;
  if (isAclRefusal(rows.status())) {  // the backed-off retries make this rare
    LOG_WARN(kComponent,
             "anti-entropy blocked by ACLs: reading the catalog: " << rows.status().message());
  }
  scheduleRetryLocked("reading the catalog: " + rows.status().message());
}

void LocalAgent::Impl::continueRound(const NodeCatalog* rows, bool full) {
  std::optional<Action> action;
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      round_running_ = false;
      return;
    }
    if (full && rows != nullptr) {
      reconcileLocked(*rows);
      ++stats_.full_syncs;
    }
    action = nextActionLocked(rows);
    if (!action) {
      round_running_ = false;
      return;
    }
    if (!action->needs_catalog) ++stats_.proposals;
  }
  if (action->needs_catalog) return readCatalog(false);
  std::weak_ptr<Impl> weak = weak_from_this();
  Action sent = *action;
  deps_.catalog->propose(action->command, [weak, sent](Status result) {
    auto self = weak.lock();
    if (!self) return;
    self->post([sent, result](Impl& me) { me.onProposed(sent, result); },
               self->deps_.scheduler->now());
  });
}

void LocalAgent::Impl::onProposed(const Action& action, const Status& result) {
  std::lock_guard lock(mu_);
  if (stopped_) {
    round_running_ = false;
    return;
  }
  if (isAclRefusal(result)) {
    // As Consul: an entry the token may not write is logged and left until the next full sync,
    // so that it neither blocks the entries after it nor retries in a tight loop.
    ++stats_.failures;
    LOG_WARN(kComponent, "anti-entropy of " << (action.id.empty() ? "the node" : action.id)
                                            << " blocked by ACLs: " << result.message());
    if (action.kind == Action::kNode) {
      node_in_sync_ = true;  // not "registered": markSyncedLocked() would say so
    } else {
      markSyncedLocked(action);
    }
    post([](Impl& self) { self.runRound(); }, deps_.scheduler->now());
    return;
  }
  if (!result.isOk()) {
    ++stats_.failures;
    return scheduleRetryLocked("proposal failed: " + result.message());
  }
  retry_delay_ = options_.retry_min;
  markSyncedLocked(action);
  post([](Impl& self) { self.runRound(); }, deps_.scheduler->now());
}

// No leader during cluster formation, or an unreachable server on a client, is normal: the round
// waits (round_running_ stays set) and starts again with a doubled delay.
void LocalAgent::Impl::scheduleRetryLocked(const std::string& why) {
  LOG_DEBUG(kComponent,
            "anti-entropy: " << why << ", retrying in " << formatGoDuration(retry_delay_));
  std::weak_ptr<Impl> weak = weak_from_this();
  retry_timer_ = deps_.scheduler->runAt(deps_.scheduler->now() + retry_delay_, [weak] {
    if (auto self = weak.lock()) self->runRound();
  });
  retry_delay_ = std::min(retry_delay_ * 2, options_.retry_max);
}

v1::CatalogCheck LocalAgent::Impl::catalogCheckLocked(const CheckEntry& e) const {
  v1::CatalogCheck c = e.check;
  c.set_node(identity_.node_name);
  return c;
}

void LocalAgent::Impl::reconcileLocked(const NodeCatalog& catalog) {
  const std::string& node = identity_.node_name;
  std::map<std::string, const v1::CatalogService*> have_services;
  for (const auto& s : catalog.services) have_services[s.id()] = &s;
  std::map<std::string, const v1::CatalogCheck*> have_checks;
  for (const auto& c : catalog.checks) have_checks[c.check_id()] = &c;

  auto serf = have_checks.find(kSerfHealthCheckId);
  node_in_sync_ = catalog.node && sameNode(catalogNodeOf(identity_), *catalog.node) &&
                  serf != have_checks.end() &&
                  sameCheck(serfHealthCheck(node), *serf->second, false);
  stats_.node_registered = node_in_sync_;
  for (auto& [id, e] : services_) {
    auto it = have_services.find(id);
    e.in_sync = it != have_services.end() && sameService(e.service, *it->second);
  }
  for (auto& [id, e] : checks_) {
    auto it = have_checks.find(id);
    e.in_sync =
        it != have_checks.end() && sameCheck(catalogCheckLocked(e), *it->second, e.output_deferred);
  }
  for (const auto& [id, s] : have_services) {
    if (services_.count(id) == 0 && id != kConsulServiceId) remove_services_.insert(id);
  }
  for (const auto& [id, c] : have_checks) {
    if (checks_.count(id) != 0 || id == kSerfHealthCheckId) continue;
    if (!c->service_id().empty() && remove_services_.count(c->service_id()) != 0) continue;
    if (c->service_id() == kConsulServiceId) continue;
    remove_checks_.insert(id);
  }
}

std::optional<LocalAgent::Impl::Action> LocalAgent::Impl::nextActionLocked(
    const NodeCatalog* rows) {
  const std::string& node = identity_.node_name;
  Action a;
  if (!node_in_sync_) {
    a.kind = Action::kNode;
    a.command = registerNodeCommand(identity_);
    return a;
  }
  if (!remove_services_.empty()) {
    a.kind = Action::kRemoveService;
    a.id = *remove_services_.begin();
    a.command = deregisterServiceCommand(node, a.id);
    return a;
  }
  for (const auto& [id, e] : services_) {
    if (e.in_sync) continue;
    a.kind = Action::kService;
    a.id = id;
    a.version = e.version;
    v1::CatalogService svc = e.service;
    if (svc.enable_tag_override()) {
      if (rows == nullptr) {  // the tags to keep are the catalog's current ones
        a.needs_catalog = true;
        return a;
      }
      for (const auto& have : rows->services) {
        if (have.id() == id) svc.mutable_tags()->CopyFrom(have.tags());
      }
    }
    std::vector<v1::CatalogCheck> checks;
    for (const auto& [check_id, c] : checks_) {
      if (c.check.service_id() != id) continue;
      checks.push_back(catalogCheckLocked(c));
      a.checks.emplace_back(check_id, c.version);
    }
    a.command = registerServiceCommand(identity_, svc, checks);
    return a;
  }
  if (!remove_checks_.empty()) {
    a.kind = Action::kRemoveCheck;
    a.id = *remove_checks_.begin();
    a.command = deregisterCheckCommand(node, a.id);
    return a;
  }
  for (const auto& [id, e] : checks_) {
    if (e.in_sync) continue;
    a.kind = Action::kCheck;
    a.id = id;
    a.version = e.version;
    a.command = registerCheckCommand(identity_, catalogCheckLocked(e));
    return a;
  }
  return std::nullopt;
}

void LocalAgent::Impl::markSyncedLocked(const Action& a) {
  SteadyTime now = deps_.scheduler->now();
  auto markCheck = [&](const std::string& id, uint64_t version) {
    auto it = checks_.find(id);
    if (it == checks_.end() || it->second.version != version) return;
    it->second.in_sync = true;
    it->second.last_output_sync = now;
  };
  switch (a.kind) {
    case Action::kNode:
      node_in_sync_ = true;
      if (!stats_.node_registered) LOG_INFO(kComponent, "node registered in the catalog");
      stats_.node_registered = true;
      break;
    case Action::kRemoveService:
      remove_services_.erase(a.id);
      break;
    case Action::kRemoveCheck:
      remove_checks_.erase(a.id);
      break;
    case Action::kService:
      if (auto it = services_.find(a.id);
          it != services_.end() && it->second.version == a.version) {
        it->second.in_sync = true;
      }
      for (const auto& [id, version] : a.checks) markCheck(id, version);
      break;
    case Action::kCheck:
      markCheck(a.id, a.version);
      break;
  }
}

void LocalAgent::Impl::onDeferredOutput(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    auto it = checks_.find(id);
    if (it == checks_.end() || !it->second.output_deferred) return;
    it->second.output_deferred = false;
    it->second.defer_timer = 0;
    it->second.in_sync = false;
  }
  requestSync(false);
}

// Removes the service instances whose check has been critical longer than its
// DeregisterCriticalServiceAfter.
void LocalAgent::Impl::reap() {
  std::vector<std::string> checks;
  {
    std::lock_guard reg(reg_mu_);
    if (!runner_) return;
    checks = runner_->criticalPastDeregister();
  }
  std::set<std::string> services;
  {
    std::lock_guard lock(mu_);
    for (const auto& id : checks) {
      auto it = checks_.find(id);
      if (it != checks_.end() && !it->second.check.service_id().empty()) {
        services.insert(it->second.check.service_id());
      }
    }
  }
  for (const auto& sid : services) {
    LOG_INFO(kComponent,
             "removing service " << sid << ": critical longer than DeregisterCriticalServiceAfter");
    (void)removeService(sid);
  }
}

}  // namespace cairn::local
