#include "agent/server_health_monitor.h"

#include <mutex>
#include <optional>

#include "core/local/registration.h"

namespace cairn::agent {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kSerfHealth = "serfHealth";

std::optional<v1::CatalogCheck> serfHealthOf(const store::StateStore& store,
                                             const std::string& node) {
  for (const auto& c : store.nodeChecks(node).checks) {
    if (c.check_id() == kSerfHealth) return c;
  }
  return std::nullopt;
}

bool sameMeta(const v1::CatalogService& a, const v1::CatalogService& b) {
  if (a.meta().size() != b.meta().size()) return false;
  for (const auto& [k, v] : b.meta()) {
    auto it = a.meta().find(k);
    if (it == a.meta().end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

struct ServerHealthMonitor::State : std::enable_shared_from_this<State> {
  node::Node& node;
  const store::StateStore& store;
  TimerQueue& timers;
  Options options;
  std::mutex mu;
  bool stopped = false;
  std::optional<Clock::time_point> leading_since;

  State(node::Node& n, const store::StateStore& s, TimerQueue& t, Options o)
      : node(n), store(s), timers(t), options(o) {}

  void schedule() {
    std::weak_ptr<State> weak = shared_from_this();
    timers.schedule(Clock::now() + options.period, [weak] {
      if (auto self = weak.lock()) self->round();
    });
  }

  void round() {
    {
      std::lock_guard lock(mu);
      if (stopped) return;
    }
    ensureConsulService();
    auto health = node.autopilotHealth();
    if (!health.isOk()) {
      leading_since.reset();
    } else {
      if (!leading_since) leading_since = Clock::now();
      for (const node::ServerHealth& s : health->servers) reconcile(s);
    }
    schedule();
  }

  v1::CatalogService consulService() const {
    v1::CatalogService s;
    s.set_id(local::kConsulServiceId);
    s.set_service("consul");
    s.set_port(options.server_port);
    auto& meta = *s.mutable_meta();
    meta["raft_version"] = "3";
    meta["serf_protocol_current"] = "2";
    meta["serf_protocol_min"] = "1";
    meta["serf_protocol_max"] = "5";
    meta["version"] = options.version;
    return s;
  }

  // Registers this server's `consul` service when it is missing or differs.
  void ensureConsulService() {
    if (options.node_name.empty()) return;
    auto registered = store.nodeServices(options.node_name);
    if (!registered.node) return;  // the local agent registers the node first
    v1::CatalogService want = consulService();
    for (const auto& s : registered.services) {
      if (s.id() != want.id()) continue;
      if (s.port() == want.port() && s.tags_size() == 0 && sameMeta(s, want)) return;
    }
    v1::Command cmd;
    auto* r = cmd.mutable_catalog_register();
    *r->mutable_node() = *registered.node;
    r->set_skip_node_update(true);
    *r->mutable_service() = want;
    node.propose(std::move(cmd), [](StatusOr<node::ProposeResult>) {});  // retried next round
  }

  bool failed(const node::ServerHealth& s) const {
    auto fail_after = std::chrono::duration_cast<std::chrono::milliseconds>(options.fail_after);
    if (s.heard_from) return s.last_contact_ms > static_cast<uint64_t>(fail_after.count());
    return Clock::now() - *leading_since > options.fail_after;
  }

  // Proposes the server's serfHealth status when it differs from what the catalog holds.
  void reconcile(const node::ServerHealth& s) {
    const std::string& name = s.server.node;
    if (name.empty()) return;
    auto current = serfHealthOf(store, name);
    auto registered = store.nodeServices(name).node;
    if (!current || !registered) return;  // the server registers itself first
    bool down = failed(s);
    std::string status = down ? "critical" : "passing";
    if (current->status() == status) return;
    v1::Command cmd;
    auto* r = cmd.mutable_catalog_register();
    *r->mutable_node() = *registered;
    r->set_skip_node_update(true);
    v1::CatalogCheck* check = r->add_checks();
    *check = *current;
    check->set_status(status);
    check->set_output(down ? "Agent not live or unreachable" : "Agent alive and reachable");
    node.propose(std::move(cmd), [](StatusOr<node::ProposeResult>) {});  // retried next round
  }
};

ServerHealthMonitor::ServerHealthMonitor(node::Node& node, const store::StateStore& store,
                                         TimerQueue& timers, Options options)
    : state_(std::make_shared<State>(node, store, timers, options)) {}

ServerHealthMonitor::~ServerHealthMonitor() { stop(); }

void ServerHealthMonitor::start() { state_->schedule(); }

void ServerHealthMonitor::stop() {
  std::lock_guard lock(state_->mu);
  state_->stopped = true;
}

}  // namespace cairn::agent
