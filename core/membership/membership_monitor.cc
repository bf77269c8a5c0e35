#include "core/membership/membership_monitor.h"

#include <mutex>
#include <set>

#include "core/base/logging.h"
#include "core/local/catalog_compare.h"

namespace cairn::membership {
namespace {

constexpr std::string_view kSerfHealth = "serfHealth";

MemberView viewOf(const store::StateStore& store, const v1::MemberRecord& record) {
  MemberView v;
  v.record = record;
  const std::string& name = record.member().node_name();
  v.node_registered = store.nodeServices(name).node.has_value();
  for (const auto& c : store.nodeChecks(name).checks) {
    if (c.check_id() == kSerfHealth) v.serf_health = c.status();
  }
  return v;
}

v1::CatalogNode catalogNode(const v1::ClientMember& m) {
  v1::CatalogNode n;
  n.set_id(m.node_id());
  n.set_node(m.node_name());
  n.set_address(m.address());
  n.set_datacenter(m.datacenter());
  for (const auto& [k, v] : m.tagged_addresses()) (*n.mutable_tagged_addresses())[k] = v;
  for (const auto& [k, v] : m.meta()) (*n.mutable_meta())[k] = v;
  return n;
}

v1::Command memberCommand(const v1::ClientMember& m, v1::MemberStatus status, int64_t now_ms) {
  v1::Command cmd;
  v1::MemberRecord& r = *cmd.mutable_member_update()->mutable_record();
  *r.mutable_member() = m;
  r.set_status(status);
  r.set_status_since_unix_ms(now_ms);
  return cmd;
}

// Alive: the record, the node (registered in full only when missing: the client's own
// anti-entropy owns its node's fields) and a passing serfHealth.
v1::Command aliveCommand(const MemberView* view, const v1::ClientMember& m, int64_t now_ms) {
  v1::Command cmd = memberCommand(m, v1::MEMBER_ALIVE, now_ms);
  if (view != nullptr && view->record.status() == v1::MEMBER_ALIVE) {
    cmd.mutable_member_update()->mutable_record()->set_status_since_unix_ms(
        view->record.status_since_unix_ms());
  }
  v1::CatalogRegister& reg = *cmd.mutable_member_update()->mutable_node_register();
  *reg.mutable_node() = catalogNode(m);
  reg.set_skip_node_update(view != nullptr && view->node_registered);
  *reg.add_checks() = local::serfHealthCheck(m.node_name());
  return cmd;
}

// Failed: the record, and serfHealth critical when the node is still registered.
v1::Command failedCommand(const MemberView& view, int64_t now_ms) {
  const v1::ClientMember& m = view.record.member();
  v1::Command cmd = memberCommand(m, v1::MEMBER_FAILED, now_ms);
  if (!view.node_registered) return cmd;
  v1::CatalogRegister& reg = *cmd.mutable_member_update()->mutable_node_register();
  *reg.mutable_node() = catalogNode(m);
  reg.set_skip_node_update(true);
  v1::CatalogCheck check = local::serfHealthCheck(m.node_name());
  check.set_status("critical");
  check.set_output("Agent not live or unreachable");
  *reg.add_checks() = check;
  return cmd;
}

v1::Command leftCommand(const v1::ClientMember& m, bool prune, int64_t now_ms) {
  v1::Command cmd = memberCommand(m, v1::MEMBER_LEFT, now_ms);
  if (prune) {
    cmd.mutable_member_update()->clear_record();
    cmd.mutable_member_update()->set_remove(m.node_name());
  }
  cmd.mutable_member_update()->set_deregister_node(true);
  return cmd;
}

Status proposeOutcome(const StatusOr<node::ProposeResult>& r) {
  if (!r.isOk()) return r.status();
  if (!r->outcome.errors.empty()) return internalError(r->outcome.errors.front().what);
  return Status::ok();
}

}  // namespace

struct MembershipMonitor::State : std::enable_shared_from_this<State> {
  MembershipMonitorOptions options;
  MembershipMonitorDeps deps;

  std::mutex mu;
  LivenessTracker tracker;          // guarded by mu
  bool stopped = false;             // guarded by mu
  bool round_soon = false;          // an immediate round is scheduled; guarded by mu
  std::set<std::string> in_flight;  // names with a proposal pending; guarded by mu
  // Names whose leave is being committed: until it is applied their record still says alive and
  // the tracker no longer hears them, which must not read as a failure. Guarded by mu.
  std::set<std::string> leaving;
  std::map<std::string, v1::ClientMember> in_line;  // as last found replicated; guarded by mu
  health::Scheduler::TaskId timer = 0;              // guarded by mu

  State(MembershipMonitorOptions o, MembershipMonitorDeps d)
      : options(o), deps(std::move(d)), tracker(o.liveness) {}

  // Requires mu.
  void scheduleLocked(SteadyTime when) {
    std::weak_ptr<State> weak = weak_from_this();
    timer = deps.scheduler->runAt(when, [weak] {
      if (auto me = weak.lock()) me->round();
    });
  }

  void round() {
    std::vector<std::pair<std::string, v1::Command>> proposals;
    {
      std::lock_guard lock(mu);
      if (stopped) return;
      round_soon = false;
      SteadyTime now = deps.scheduler->now();
      scheduleLocked(now + options.period);
      bool leader = deps.node->isLeader();
      if (leader != tracker.leading()) {
        if (leader) {
          tracker.startLeading(now);
        } else {
          tracker.stopLeading();
        }
        in_line.clear();
      }
      if (!leader) return;
      proposals = decideLocked(now);
    }
    for (auto& [name, cmd] : proposals) propose(name, std::move(cmd));
  }

  // Requires mu.
  std::vector<std::pair<std::string, v1::Command>> decideLocked(SteadyTime now) {
    std::vector<MemberView> views;
    for (const auto& r : deps.store->members()) views.push_back(viewOf(*deps.store, r));
    std::map<std::string, const MemberView*> by_name;
    in_line.clear();
    for (const auto& v : views) {
      by_name[store::lowercase(v.record.member().node_name())] = &v;
      if (v.record.status() == v1::MEMBER_ALIVE && v.node_registered &&
          v.serf_health == "passing") {
        in_line[store::lowercase(v.record.member().node_name())] = v.record.member();
      }
    }
    int64_t wall = deps.wall_now_ms();
    std::vector<std::pair<std::string, v1::Command>> out;
    for (const Action& a : tracker.evaluate(now, wall, views)) {
      std::string key = store::lowercase(a.name);
      in_line.erase(key);  // about to change: the next heartbeat must not count as in line
      if (leaving.count(key) != 0) continue;        // its leave decides
      if (!in_flight.insert(key).second) continue;  // its earlier proposal decides first
      auto view = by_name.find(key);
      const MemberView* v = view == by_name.end() ? nullptr : view->second;
      switch (a.kind) {
        case ActionKind::kMarkAlive:
          LOG_INFO("membership", "member " << a.name << " is alive");
          out.emplace_back(key, aliveCommand(v, a.member, wall));
          break;
        case ActionKind::kMarkFailed:
          LOG_WARN("membership", "member " << a.name << " failed: no heartbeat for "
                                           << options.liveness.client_timeout.count() << " ms");
          out.emplace_back(key, failedCommand(*v, wall));
          break;
        case ActionKind::kReap:
          LOG_INFO("membership", "reaping member " << a.name);
          out.emplace_back(key, leftCommand(a.member, /*prune=*/true, wall));
          break;
      }
    }
    return out;
  }

  void propose(const std::string& key, v1::Command cmd) {
    std::weak_ptr<State> weak = weak_from_this();
    deps.node->propose(std::move(cmd), [weak, key](StatusOr<node::ProposeResult> r) {
      auto me = weak.lock();
      if (!me) return;
      if (Status s = proposeOutcome(r); !s.isOk()) {
        LOG_DEBUG("membership", "membership change for " << key << " failed: " << s.message());
      }
      std::lock_guard lock(me->mu);
      me->in_flight.erase(key);  // a failure is retried by the next round
    });
  }

  // Requires mu. A heartbeat with news gets a round now rather than at the next period.
  void roundSoonLocked() {
    if (round_soon || stopped) return;
    round_soon = true;
    std::weak_ptr<State> weak = weak_from_this();
    deps.scheduler->runAt(deps.scheduler->now(), [weak] {
      if (auto me = weak.lock()) me->immediateRound();
    });
  }

  void immediateRound() {
    std::vector<std::pair<std::string, v1::Command>> proposals;
    {
      std::lock_guard lock(mu);
      round_soon = false;
      if (stopped || !tracker.leading()) return;
      proposals = decideLocked(deps.scheduler->now());
    }
    for (auto& [name, cmd] : proposals) propose(name, std::move(cmd));
  }
};

MembershipMonitor::MembershipMonitor(MembershipMonitorOptions options, MembershipMonitorDeps deps)
    : state_(std::make_shared<State>(options, std::move(deps))) {}

MembershipMonitor::~MembershipMonitor() { stop(); }

void MembershipMonitor::start() {
  std::lock_guard lock(state_->mu);
  state_->scheduleLocked(state_->deps.scheduler->now());
}

std::chrono::milliseconds MembershipMonitor::clientTimeout() const {
  return state_->options.liveness.client_timeout;
}

void MembershipMonitor::stop() {
  health::Scheduler::TaskId id = 0;
  {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    id = std::exchange(state_->timer, 0);
  }
  if (id != 0) state_->deps.scheduler->cancel(id);
}

Status MembershipMonitor::heartbeat(const v1::ClientMember& member,
                                    const std::string& incarnation) {
  if (member.node_name().empty()) return invalidArgument("heartbeat without a node name");
  std::lock_guard lock(state_->mu);
  if (!state_->tracker.leading()) {
    if (!state_->deps.node->isLeader()) return unavailable("not the leader");
    // Took office since the last round: the grace period starts now.
    state_->tracker.startLeading(state_->deps.scheduler->now());
    state_->in_line.clear();
  }
  if (!state_->tracker.onHeartbeat(member, incarnation, state_->deps.scheduler->now())) {
    return Status::ok();  // a late heartbeat of a run that has left
  }
  auto known = state_->in_line.find(store::lowercase(member.node_name()));
  bool same = known != state_->in_line.end() && recordMatches(
                                                    [&] {
                                                      v1::MemberRecord r;
                                                      *r.mutable_member() = known->second;
                                                      r.set_status(v1::MEMBER_ALIVE);
                                                      return r;
                                                    }(),
                                                    member);
  if (!same) state_->roundSoonLocked();
  return Status::ok();
}

void MembershipMonitor::leave(const std::string& name, const std::string& incarnation,
                              std::function<void(Status)> done) {
  if (name.empty()) return done(invalidArgument("leave without a node name"));
  v1::ClientMember member;
  std::string key = store::lowercase(name);
  {
    std::lock_guard lock(state_->mu);
    if (!state_->tracker.leading()) return done(unavailable("not the leader"));
    state_->tracker.onLeave(name, incarnation, state_->deps.scheduler->now());
    state_->in_line.erase(key);
    state_->leaving.insert(key);
  }
  member.set_node_name(name);
  for (const auto& r : state_->deps.store->members()) {
    if (store::lowercase(r.member().node_name()) == store::lowercase(name)) member = r.member();
  }
  LOG_INFO("membership", "member " << name << " left");
  std::weak_ptr<State> weak = state_;
  state_->deps.node->propose(leftCommand(member, false, state_->deps.wall_now_ms()),
                             [weak, key, done = std::move(done)](StatusOr<node::ProposeResult> r) {
                               if (auto me = weak.lock()) {
                                 std::lock_guard lock(me->mu);
                                 me->leaving.erase(key);  // applied (or failed: rounds judge)
                               }
                               done(proposeOutcome(r));
                             });
}

void MembershipMonitor::forceLeave(const std::string& name, bool prune,
                                   std::function<void(Status)> done) {
  std::optional<v1::MemberRecord> record;
  for (const auto& r : state_->deps.store->members()) {
    if (store::lowercase(r.member().node_name()) == store::lowercase(name)) record = r;
  }
  if (!record) return done(notFound("agent: No node found with name '" + name + "'"));
  if (record->status() == v1::MEMBER_LEFT && !prune) return done(Status::ok());
  LOG_INFO("membership", "force-leave of member " << name << (prune ? " (prune)" : ""));
  state_->deps.node->propose(
      leftCommand(record->member(), prune, state_->deps.wall_now_ms()),
      [done = std::move(done)](StatusOr<node::ProposeResult> r) { done(proposeOutcome(r)); });
}

std::vector<v1::MemberRecord> MembershipMonitor::members() const {
  return state_->deps.store->members();
}

}  // namespace cairn::membership
