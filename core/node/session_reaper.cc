#include "core/node/session_reaper.h"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/base/duration.h"
#include "core/base/logging.h"

namespace cairn::node {
namespace {

// A session's TTL as a duration; zero for none or an unparsable value (validated at create).
std::chrono::nanoseconds ttlOf(const std::string& ttl) {
  if (ttl.empty()) return std::chrono::nanoseconds(0);
  auto d = parseGoDuration(ttl);
  return d.isOk() && d->count() > 0 ? *d : std::chrono::nanoseconds(0);
}

}  // namespace

class SessionReaper::Core : public std::enable_shared_from_this<Core> {
 public:
  Core(TimerQueue& timers, std::chrono::milliseconds poll, std::chrono::milliseconds retry)
      : timers_(timers), poll_(poll), retry_(retry) {}

  void start(Node& node, const store::StateStore& store) {
    store::SessionList existing = store.sessions();
    std::lock_guard lock(mu_);
    if (stopped_ || node_ != nullptr) return;
    node_ = &node;
    store_ = &store;
    addStoredLocked(existing);
    was_leader_ = node.isLeader();
    schedulePollLocked();
  }

  // Also waits for a poll or expiry already running on the timer thread to let go of the node:
  // the owner destroys the node right after stop() returns.
  void stop() {
    std::unique_lock lock(mu_);
    stopped_ = true;
    if (poll_timer_ != 0) timers_.cancel(poll_timer_);
    poll_timer_ = 0;
    for (auto& [id, entry] : sessions_) {
      if (entry.timer != 0) timers_.cancel(entry.timer);
    }
    sessions_.clear();
    node_released_.wait(lock, [this] { return node_users_ == 0; });
  }

  void onSessionClock(const store::SessionClock& clock) {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    auto it = sessions_.find(clock.id);
    if (clock.ended) {
      if (it == sessions_.end()) return;
      if (it->second.timer != 0) timers_.cancel(it->second.timer);
      sessions_.erase(it);
      return;
    }
    auto ttl = ttlOf(clock.ttl);
    if (ttl.count() == 0) return;
    Entry& entry = sessions_[clock.id];
    entry.ttl = ttl;
    armLocked(clock.id, entry, ttl * kTtlMultiplier);
  }

  size_t tracked() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }

 private:
  struct Entry {
    std::chrono::nanoseconds ttl{0};
    TimerQueue::TimerId timer = 0;
    uint64_t generation = 0;  // bumped on every restart, so stale timers do nothing
  };

  // (Re)starts `id`'s clock to fire after `delay`. Caller holds mu_.
  void armLocked(const std::string& id, Entry& entry, std::chrono::nanoseconds delay) {
    if (entry.timer != 0) timers_.cancel(entry.timer);
    uint64_t generation = next_generation_++;
    entry.generation = generation;
    auto deadline = std::chrono::steady_clock::now() + delay;
    entry.timer = timers_.schedule(
        deadline, [self = shared_from_this(), id, generation] { self->expired(id, generation); });
  }

  // The node, held for the duration of one timer callback so stop() can wait for it to be let go.
  // Caller holds mu_ and has checked stopped_.
  class NodeUse {
   public:
    NodeUse(Core& core, Node* node) : core_(core), node_(node) { ++core_.node_users_; }
    ~NodeUse() {
      std::lock_guard lock(core_.mu_);
      if (--core_.node_users_ == 0) core_.node_released_.notify_all();
    }
    NodeUse(const NodeUse&) = delete;
    NodeUse& operator=(const NodeUse&) = delete;
    Node* operator->() const { return node_; }
    Node* get() const { return node_; }

   private:
    Core& core_;
    Node* node_;
  };

  // Runs on the timer thread: quick checks, then a non-blocking proposal. Before start() or on
  // a follower the clock just stops; a new leader restarts it.
  void expired(const std::string& id, uint64_t generation) {
    std::optional<NodeUse> node;
    {
      std::lock_guard lock(mu_);
      auto it = sessions_.find(id);
      if (stopped_ || it == sessions_.end() || it->second.generation != generation) return;
      it->second.timer = 0;
      if (node_ == nullptr) return;
      node.emplace(*this, node_);
    }
    if (!(*node)->isLeader()) return;
    LOG_INFO("session", "session " << id << " expired (TTL not renewed), invalidating");
    v1::Command cmd;
    cmd.mutable_session_destroy()->set_id(id);
    (*node)->propose(std::move(cmd), [self = shared_from_this(), id, generation](auto result) {
      if (!result.isOk()) return self->destroyFailed(id, generation, result.status());
      self->forget(id, generation);
    });
  }

  // Drops the clock of a session whose destroy was applied (normally onSessionClock already
  // did; not when the session was already gone, e.g. a clock from before a snapshot install).
  void forget(const std::string& id, uint64_t generation) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second.generation == generation) sessions_.erase(it);
  }

  // The applied destroy reports the end through onSessionClock; a failed proposal is retried
  // while the clock was not restarted meanwhile (the next expiry re-checks leadership).
  void destroyFailed(const std::string& id, uint64_t generation, const Status& status) {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(id);
    if (stopped_ || it == sessions_.end() || it->second.generation != generation) return;
    LOG_WARN("session",
             "invalidating session " << id << " failed: " << status.message() << "; retrying");
    armLocked(id, it->second, retry_);
  }

  void schedulePollLocked() {
    auto deadline = std::chrono::steady_clock::now() + poll_;
    poll_timer_ = timers_.schedule(deadline, [self = shared_from_this()] { self->poll(); });
  }

  // On becoming leader every clock restarts at now + 2 × TTL (Consul resets on leader change).
  // Sessions this server learnt without a clock (from an installed snapshot) get one too.
  void poll() {
    std::optional<NodeUse> node;
    const store::StateStore* store = nullptr;
    bool was_leader = false;
    {
      std::lock_guard lock(mu_);
      if (stopped_ || node_ == nullptr) return;
      node.emplace(*this, node_);
      store = store_;
      was_leader = was_leader_;
    }
    bool leader = (*node)->isLeader();
    std::optional<store::SessionList> stored;
    if (leader && !was_leader) stored = store->sessions();
    std::lock_guard lock(mu_);
    if (stopped_) return;
    if (stored) {
      for (auto& [id, entry] : sessions_) armLocked(id, entry, entry.ttl * kTtlMultiplier);
      addStoredLocked(*stored);
    }
    was_leader_ = leader;
    schedulePollLocked();
  }

  // Gives a clock (now + 2 × TTL) to every TTL session of `stored` that has none; tracked
  // sessions keep theirs. Caller holds mu_.
  void addStoredLocked(const store::SessionList& stored) {
    for (const auto& s : stored.sessions) {
      auto ttl = ttlOf(s.ttl());
      if (ttl.count() == 0 || sessions_.count(s.id()) != 0) continue;
      Entry& entry = sessions_[s.id()];
      entry.ttl = ttl;
      armLocked(s.id(), entry, ttl * kTtlMultiplier);
    }
  }

  TimerQueue& timers_;
  const std::chrono::milliseconds poll_;
  const std::chrono::milliseconds retry_;
  mutable std::mutex mu_;
  Node* node_ = nullptr;                      // set by start()
  const store::StateStore* store_ = nullptr;  // set by start()
  bool stopped_ = false;
  int node_users_ = 0;  // timer callbacks using node_ outside mu_ (NodeUse)
  std::condition_variable node_released_;
  bool was_leader_ = false;
  TimerQueue::TimerId poll_timer_ = 0;
  uint64_t next_generation_ = 1;
  std::unordered_map<std::string, Entry> sessions_;
};

SessionReaper::SessionReaper(TimerQueue& timers, std::chrono::milliseconds poll,
                             std::chrono::milliseconds retry)
    : core_(std::make_shared<Core>(timers, poll, retry)) {}

SessionReaper::~SessionReaper() { stop(); }

void SessionReaper::start(Node& node, const store::StateStore& store) { core_->start(node, store); }

void SessionReaper::stop() { core_->stop(); }

void SessionReaper::onSessionClock(const store::SessionClock& clock) {
  core_->onSessionClock(clock);
}

size_t SessionReaper::tracked() const { return core_->tracked(); }

}  // namespace cairn::node
