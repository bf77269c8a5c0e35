#include "core/health/check_runner.h"

#include <mutex>
#include <unordered_map>

#include "core/base/logging.h"

namespace cairn::health {
namespace {

constexpr char kComponent[] = "health";

Thresholds thresholdsOf(const CheckDefinition& d) {
  return {d.success_before_passing, d.failures_before_warning, d.failures_before_critical};
}

}  // namespace

// Lock order: deliver_mu_ before mu_. deliver_mu_ is held while a state change is computed and its
// callback runs, which serialises callbacks and lets remove() wait for one in progress; it is
// recursive so a callback may call back into the runner. Scheduler tasks and probe completions hold
// only a weak_ptr to the Impl and an entry generation, so late ones are ignored.
class CheckRunner::Impl : public std::enable_shared_from_this<CheckRunner::Impl> {
 public:
  Impl(Deps deps, UpdateCallback cb) : deps_(deps), on_update_(std::move(cb)) {}

  Status add(const std::string& id, const CheckDefinition& definition);
  Status remove(const std::string& id);
  Status ttlUpdate(const std::string& id, CheckStatus status, std::string_view output);
  StatusOr<CheckSnapshot> status(const std::string& id) const;
  std::vector<std::string> criticalPastDeregister() const;
  size_t size() const;
  void shutdown();

 private:
  struct Entry {
    uint64_t generation = 0;
    CheckDefinition def;
    CheckState state;
    std::shared_ptr<Prober> prober;
    Scheduler::TaskId timer = 0;
  };
  struct Change {
    bool changed = false;
    CheckStatus status = CheckStatus::kCritical;
    std::string output;
  };

  // Requires mu_. The entry for `id` if it is still generation `generation`.
  Entry* findLocked(const std::string& id, uint64_t generation);
  // Requires mu_. Detaches the entry (cancels its timer) and returns its prober to cancel.
  std::shared_ptr<Prober> eraseLocked(const std::string& id);
  // Requires mu_. Arms the entry's timer at `when`.
  void scheduleLocked(const std::string& id, Entry& entry, SteadyTime when);
  void onTimer(const std::string& id, uint64_t generation);
  void onProbeDone(const std::string& id, uint64_t generation, ProbeResult result);
  void deliver(const std::string& id, const Change& change);
  static Change changeOf(bool changed, const CheckState& state);

  const Deps deps_;
  const UpdateCallback on_update_;
  std::recursive_mutex deliver_mu_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> checks_;
  uint64_t next_generation_ = 1;
  bool stopped_ = false;
};

CheckRunner::Impl::Entry* CheckRunner::Impl::findLocked(const std::string& id,
                                                        uint64_t generation) {
  if (stopped_) return nullptr;
  auto it = checks_.find(id);
  if (it == checks_.end() || it->second.generation != generation) return nullptr;
  return &it->second;
}

std::shared_ptr<Prober> CheckRunner::Impl::eraseLocked(const std::string& id) {
  auto it = checks_.find(id);
  if (it == checks_.end()) return nullptr;
  if (it->second.timer != 0) deps_.scheduler->cancel(it->second.timer);
  std::shared_ptr<Prober> prober = std::move(it->second.prober);
  checks_.erase(it);
  return prober;
}

void CheckRunner::Impl::scheduleLocked(const std::string& id, Entry& entry, SteadyTime when) {
  if (entry.timer != 0) deps_.scheduler->cancel(entry.timer);
  std::weak_ptr<Impl> weak = weak_from_this();
  uint64_t generation = entry.generation;
  entry.timer = deps_.scheduler->runAt(when, [weak, id, generation] {
    if (auto self = weak.lock()) self->onTimer(id, generation);
  });
}

CheckRunner::Impl::Change CheckRunner::Impl::changeOf(bool changed, const CheckState& state) {
  return Change{changed, state.status(), changed ? state.output() : std::string()};
}

Status CheckRunner::Impl::add(const std::string& id, const CheckDefinition& definition) {
  StatusOr<CheckDefinition> normalized = definition.normalized();
  if (!normalized.isOk()) return normalized.status();
  CheckKind kind = normalized->kind();
  std::shared_ptr<Prober> prober;
  if (kind != CheckKind::kNone && kind != CheckKind::kTtl) {
    StatusOr<std::shared_ptr<Prober>> made = deps_.probers->create(*normalized);
    if (!made.isOk()) return made.status();
    prober = std::move(made.value());
  }
  std::shared_ptr<Prober> replaced;
  {
    std::lock_guard serial(deliver_mu_);
    std::lock_guard lock(mu_);
    if (stopped_) return unavailable("check runner is shut down");
    replaced = eraseLocked(id);
    SteadyTime now = deps_.scheduler->now();
    CheckState state(*normalized->initial_status, thresholdsOf(*normalized), now);
    Entry entry{next_generation_++, std::move(normalized.value()), std::move(state),
                std::move(prober), 0};
    Entry& stored = checks_.emplace(id, std::move(entry)).first->second;
    if (kind == CheckKind::kTtl) {
      stored.state.armTtl(stored.def.ttl, now);
      scheduleLocked(id, stored, *stored.state.ttlDeadline());
    } else if (kind != CheckKind::kNone) {
      auto delay = Nanos(deps_.random->uniform(static_cast<uint64_t>(stored.def.interval.count())));
      scheduleLocked(id, stored, now + delay);
    }
  }
  if (replaced) replaced->cancel();
  return Status::ok();
}

Status CheckRunner::Impl::remove(const std::string& id) {
  std::shared_ptr<Prober> prober;
  {
    std::lock_guard serial(deliver_mu_);
    std::lock_guard lock(mu_);
    if (checks_.find(id) == checks_.end()) return notFound("Unknown check ID \"" + id + "\"");
    prober = eraseLocked(id);
  }
  if (prober) prober->cancel();
  return Status::ok();
}

Status CheckRunner::Impl::ttlUpdate(const std::string& id, CheckStatus status,
                                    std::string_view output) {
  std::lock_guard serial(deliver_mu_);
  Change change;
  {
    std::lock_guard lock(mu_);
    auto it = checks_.find(id);
    if (stopped_ || it == checks_.end()) return notFound("Unknown check ID \"" + id + "\"");
    Entry& entry = it->second;
    if (entry.def.kind() != CheckKind::kTtl) {
      return invalidArgument("Check \"" + id + "\" is not a TTL check");
    }
    SteadyTime now = deps_.scheduler->now();
    bool changed =
        entry.state.ttlUpdate(status, output, entry.def.output_max_size, entry.def.ttl, now);
    scheduleLocked(id, entry, *entry.state.ttlDeadline());
    change = changeOf(changed, entry.state);
  }
  deliver(id, change);
  return Status::ok();
}

void CheckRunner::Impl::onTimer(const std::string& id, uint64_t generation) {
  std::shared_ptr<Prober> prober;
  {
    std::unique_lock deliver_lock(deliver_mu_, std::defer_lock);
    std::unique_lock lock(mu_);
    Entry* entry = findLocked(id, generation);
    if (entry == nullptr) return;
    entry->timer = 0;
    if (entry->def.kind() == CheckKind::kTtl) {
      // Lock order: deliver_mu_ first. Re-find after re-locking: the check may be gone.
      lock.unlock();
      deliver_lock.lock();
      lock.lock();
      entry = findLocked(id, generation);
      if (entry == nullptr || entry->timer != 0) return;  // gone, or updated meanwhile
      Change change = changeOf(entry->state.expireTtlIfDue(deps_.scheduler->now()), entry->state);
      if (change.changed) LOG_DEBUG(kComponent, "check " << id << " missed its TTL");
      lock.unlock();
      deliver(id, change);
      return;
    }
    prober = entry->prober;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  prober->start([weak, id, generation](ProbeResult result) {
    if (auto self = weak.lock()) self->onProbeDone(id, generation, std::move(result));
  });
}

void CheckRunner::Impl::onProbeDone(const std::string& id, uint64_t generation,
                                    ProbeResult result) {
  std::lock_guard serial(deliver_mu_);
  Change change;
  {
    std::lock_guard lock(mu_);
    Entry* entry = findLocked(id, generation);
    if (entry == nullptr) return;
    SteadyTime now = deps_.scheduler->now();
    change = changeOf(entry->state.applyResult(result, now), entry->state);
    scheduleLocked(id, *entry, now + entry->def.interval);
  }
  deliver(id, change);
}

// Requires deliver_mu_ (and not mu_).
void CheckRunner::Impl::deliver(const std::string& id, const Change& change) {
  if (!change.changed || !on_update_) return;
  on_update_(id, change.status, change.output);
}

StatusOr<CheckSnapshot> CheckRunner::Impl::status(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = checks_.find(id);
  if (it == checks_.end()) return notFound("Unknown check ID \"" + id + "\"");
  const CheckState& s = it->second.state;
  return CheckSnapshot{it->second.def.kind(), s.status(), s.output(), s.criticalSince()};
}

std::vector<std::string> CheckRunner::Impl::criticalPastDeregister() const {
  std::lock_guard lock(mu_);
  SteadyTime now = deps_.scheduler->now();
  std::vector<std::string> out;
  for (const auto& [id, entry] : checks_) {
    Nanos after = entry.def.deregister_critical_service_after;
    if (after.count() > 0 && entry.state.criticalLongerThan(after, now)) out.push_back(id);
  }
  return out;
}

size_t CheckRunner::Impl::size() const {
  std::lock_guard lock(mu_);
  return checks_.size();
}

void CheckRunner::Impl::shutdown() {
  std::vector<std::shared_ptr<Prober>> probers;
  {
    std::lock_guard serial(deliver_mu_);
    std::lock_guard lock(mu_);
    stopped_ = true;
    while (!checks_.empty()) {
      if (auto p = eraseLocked(checks_.begin()->first)) probers.push_back(std::move(p));
    }
  }
  for (auto& p : probers) p->cancel();
}

CheckRunner::CheckRunner(Deps deps, UpdateCallback on_update)
    : impl_(std::make_shared<Impl>(deps, std::move(on_update))) {}

CheckRunner::~CheckRunner() { impl_->shutdown(); }

Status CheckRunner::add(const std::string& check_id, const CheckDefinition& definition) {
  return impl_->add(check_id, definition);
}
Status CheckRunner::remove(const std::string& check_id) { return impl_->remove(check_id); }
Status CheckRunner::ttlUpdate(const std::string& check_id, CheckStatus status,
                              std::string_view output) {
  return impl_->ttlUpdate(check_id, status, output);
}
StatusOr<CheckSnapshot> CheckRunner::status(const std::string& check_id) const {
  return impl_->status(check_id);
}
std::vector<std::string> CheckRunner::criticalPastDeregister() const {
  return impl_->criticalPastDeregister();
}
size_t CheckRunner::size() const { return impl_->size(); }

}  // namespace cairn::health
