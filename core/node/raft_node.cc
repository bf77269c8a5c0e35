// RaftNode's loop: inbox, ticks, and the Ready hand-off (docs/raft.md, "The Ready contract").
#include "core/node/raft_node.h"

#include <algorithm>
#include <random>
#include <sstream>

#include "core/base/check.h"
#include "core/base/logging.h"
#include "core/raft/conf_change.h"
#include "core/raft/describe.h"

namespace cairn::node {
namespace {

// At most this many missed ticks are replayed at once after the loop was stalled (a paused
// process): enough to expire any lease and election timeout, bounded so it cannot spin.
constexpr int kMaxCatchUpTicks = 64;

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Status shuttingDown() { return unavailable("agent is shutting down"); }

RaftNode::RaftNode(Options options, storage::LogStore& log, store::StateStore& state,
                   transport::Transport* transport, metrics::Metrics& metrics, Executor executor)
    : options_(std::move(options)),
      log_(log),
      state_(state),
      transport_(transport),
      metrics_(metrics),
      executor_(std::move(executor)),
      random_(std::make_unique<SeededRandom>(
          options_.self.id() ^
          static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()))),
      boot_id_((static_cast<uint64_t>(std::random_device()()) << 32) ^ std::random_device()() ^
               static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count())) {
}

RaftNode::~RaftNode() { stop(); }

Status RaftNode::bootstrap(storage::LogStore& log, const std::vector<v1::ServerInfo>& voters,
                           const std::string& cluster_id) {
  CHECK(!log.hasState());
  raft::Snapshot snap;
  v1::ServerList list;
  for (const auto& server : voters) {
    snap.mutable_metadata()->mutable_conf_state()->add_voters(server.id());
    *list.add_servers() = server;
  }
  CAIRN_RETURN_IF_ERROR(log.setStable("cluster_id", cluster_id));
  CAIRN_RETURN_IF_ERROR(log.setStable("servers", list.SerializeAsString()));
  CAIRN_RETURN_IF_ERROR(log.setStable("bootstrap_servers", list.SerializeAsString()));
  // Last: only this write gives the log state (a failure before it leaves a fresh data dir).
  return log.persist(snap, {}, std::nullopt, /*sync=*/true);
}

Status RaftNode::start() {
  cluster_id_ = log_.stable("cluster_id").value_or("");
  v1::ServerList list;
  if (auto bytes = log_.stable("servers")) list.ParseFromString(*bytes);
  servers_[options_.self.id()] = options_.self;
  for (const auto& s : list.servers()) {
    if (s.id() != options_.self.id()) servers_[s.id()] = s;
  }
  if (transport_) {
    transport_->setClusterId(cluster_id_);
    for (const auto& [id, s] : servers_) {
      if (id != options_.self.id()) transport_->setPeer(id, s.address());
    }
  }
  // The log's snapshot is synced before the state store is (installing a leader's snapshot, or
  // a power loss after a local snapshot): the entries it replaced are gone, so the state must be
  // brought up to it here or it would stay behind for ever.
  if (auto snap = log_.snapshot();
      snap.isOk() && snap->metadata().index() > state_.appliedIndex()) {
    LOG_WARN("raft", "state store at index " << state_.appliedIndex() << " is behind the snapshot");
    CAIRN_RETURN_IF_ERROR(restoreSnapshot(*snap));
  }
  raft::Config cfg;
  cfg.id = options_.self.id();
  cfg.election_tick = options_.election_tick;
  cfg.heartbeat_tick = options_.heartbeat_tick;
  cfg.lease_ticks = options_.lease_ticks;
  cfg.storage = &log_;
  cfg.random = random_.get();
  cfg.applied = state_.appliedIndex();
  cfg.auto_promote_learners = true;
  auto raw = raft::RawNode::create(cfg);
  if (!raw.isOk()) return raw.status();
  raw_ = std::move(*raw);
  // Not the snapshot's configuration: the state may have applied configuration entries after
  // it, and they are not delivered again (a snapshot taken later must still record them).
  applied_conf_ = raw_->raft().confStateAt(state_.appliedIndex());
  if (auto snap = log_.snapshot(); snap.isOk()) last_snapshot_index_ = snap->metadata().index();
  next_tick_ = Clock::now() + options_.tick;
  // The only voter need not wait an election timeout to lead (`-dev`, a one-server cluster).
  const auto& voters = raw_->raft().tracker().voters();
  if (voters.size() == 1 && *voters.begin() == options_.self.id()) raw_->campaign();
  publish();
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void RaftNode::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Run what was queued before the stop (so every request below gets its answer), then fail
  // everything still waiting.
  std::vector<Event> left;
  {
    std::lock_guard lock(mu_);
    left.swap(inbox_);
  }
  if (raw_) {
    for (auto& event : left) event();
  }
  Status down = shuttingDown();
  for (auto& [id, w] : writes_) reply([done = std::move(w.done), down] { done(down); });
  writes_.clear();
  for (auto& r : reads_unsent_) reply([done = std::move(r.done), down] { done(down); });
  for (auto& [ctx, round] : read_rounds_) {
    for (auto& r : round.waiters) reply([done = std::move(r.done), down] { done(down); });
  }
  for (auto& [index, done] : applied_waiters_)
    reply([done = std::move(done), down] { done(down); });
  for (auto& [index, w] : conf_waiters_) reply([done = std::move(w.done), down] { done(down); });
  if (transfer_) reply([done = std::move(transfer_->done), down] { done(down); });
}

bool RaftNode::post(Event event) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    inbox_.push_back(std::move(event));
  }
  cv_.notify_one();
  return true;
}

void RaftNode::run() {
  std::vector<Event> events;
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_until(lock, next_tick_, [this] { return stopping_ || !inbox_.empty(); });
      if (stopping_) return;
      events.swap(inbox_);
    }
    auto now = Clock::now();
    tickDue(now);  // before anything else: a stalled leader must see its lease expire first
    for (auto& event : events) event();
    events.clear();
    if (!reads_unsent_.empty()) startReadRound();
    if (held_ && now >= next_storage_retry_) finishReady();
    while (!held_ && raw_->hasReady()) handleReady();
    expireDeadlines(now);
    resolveTransfer(now);
    logProgress(now);
    publish();
  }
}

// At debug level, once a second, the leader logs how far each peer's replication got.
void RaftNode::logProgress(Clock::time_point now) {
  if (now < next_progress_log_ || !logEnabled(LogLevel::kDebug)) return;
  next_progress_log_ = now + std::chrono::seconds(1);
  const raft::Raft& r = raw_->raft();
  if (r.state() != raft::StateType::kLeader) return;
  std::ostringstream os;
  os << "commit " << r.log().committed() << ", last " << r.log().lastIndex();
  for (const auto& [id, pr] : r.tracker().all()) {
    if (id != options_.self.id()) os << "; " << serverName(id) << ": " << pr.describe();
  }
  LOG_DEBUG("raft", "progress: " << os.str());
}

void RaftNode::tickDue(Clock::time_point now) {
  int ticks = 0;
  while (now >= next_tick_) {
    if (ticks++ < kMaxCatchUpTicks) raw_->tick();
    next_tick_ += options_.tick;
  }
}

void RaftNode::handleReady() {
  raft::Ready rd = raw_->ready();
  if (rd.soft_state) {
    onSoftState(*rd.soft_state);
    // Before any message of the new role leaves: a peer that hears from this new leader (and
    // answers a client, e.g. a finished leadership transfer) must find it reporting itself.
    publish();
  }
  sendMessages(std::move(rd.early_messages));
  held_ = HeldReady{std::move(rd)};
  finishReady();
}

bool RaftNode::finishReady() {
  raft::Ready& rd = held_->rd;
  if (!held_->persisted) {
    if (Status s = persist(rd); !s.isOk()) return storageFailed(std::move(s));
    held_->persisted = true;
    sendMessages(std::move(rd.messages));
  }
  if (rd.snapshot && !held_->restored) {
    if (Status s = restoreSnapshot(*rd.snapshot); !s.isOk()) return storageFailed(std::move(s));
    held_->restored = true;
  }
  if (Status s = applyCommitted(rd.committed_entries); !s.isOk()) {
    return storageFailed(std::move(s));
  }
  onReadStates(rd.read_states);
  raw_->advance(rd);
  held_.reset();
  storageRecovered();
  releaseAppliedWaiters();
  maybeSnapshot();
  retryWaiting();
  return true;
}

bool RaftNode::storageFailed(Status status) {
  next_storage_retry_ = Clock::now() + options_.storage_retry;
  bool first = storage_fault_.isOk();
  storage_fault_ = std::move(status);
  if (!first) return false;
  LOG_ERROR("raft", "cannot persist or apply (" << storage_fault_.message()
                                                << "); acknowledging nothing, refusing writes, "
                                                   "retrying every "
                                                << options_.storage_retry.count() << " ms");
  // Writes that reached a log may still commit (elsewhere, or here once the disk has room):
  // undecided. Writes still waiting for a leader never reached one: refused.
  std::vector<std::string> undecided, refused;
  for (const auto& [rid, w] : writes_)
    (w.index || w.forwarding ? undecided : refused).push_back(rid);
  for (const auto& rid : undecided) {
    failWrite(rid, unavailable(storage_fault_.message() +
                               "; the write may or may not be applied once writes resume"));
  }
  for (const auto& rid : refused) {
    failWrite(rid, unavailable(storage_fault_.message() + "; the write was refused, not applied"));
  }
  writes_waiting_.clear();
  // Reads waiting for a round or for the apply that this stall holds up fail now, with the reason.
  Status read_fault = unavailable(storage_fault_.message() +
                                  "; this server cannot serve consistent reads until writes "
                                  "resume (?stale reads work)");
  auto fail = [this, &read_fault](std::function<void(Status)>& done) {
    reply([done = std::move(done), read_fault] { done(read_fault); });
  };
  for (auto& r : reads_unsent_) fail(r.done);
  reads_unsent_.clear();
  for (auto& [ctx, round] : read_rounds_) {
    for (auto& r : round.waiters) fail(r.done);
  }
  read_rounds_.clear();
  for (auto& [index, done] : applied_waiters_) fail(done);
  applied_waiters_.clear();
  publish();
  return false;
}

void RaftNode::storageRecovered() {
  if (storage_fault_.isOk()) return;
  LOG_INFO("raft", "storage accepts writes again; Raft resumed");
  storage_fault_ = Status::ok();
}

Status RaftNode::persist(const raft::Ready& rd) {
  // Learn addresses from configuration entries as they are appended: a node that becomes leader
  // before applying them must already be able to reach the servers they add.
  for (const auto& e : rd.entries) {
    if (e.type() != v1::ENTRY_CONF_CHANGE) continue;
    auto cc = raft::decodeConfChange(e);
    v1::ServerInfo server;
    if (cc.isOk() && !cc->context().empty() && server.ParseFromString(cc->context())) {
      rememberServer(server);
    }
  }
  if (servers_dirty_) CAIRN_RETURN_IF_ERROR(saveServers());
  if (!rd.snapshot && rd.entries.empty() && !rd.hard_state) return Status::ok();
  auto start = Clock::now();
  Status s = log_.persist(rd.snapshot, rd.entries, rd.hard_state, rd.must_sync);
  if (s.isOk() && rd.must_sync) metrics_.observeFsync(secondsSince(start));
  return s;
}

void RaftNode::sendMessages(std::vector<raft::Message> messages) {
  if (messages.empty() || !transport_) return;
  noteAppendsSent(messages);
  transport_->send(std::move(messages));
}

void RaftNode::noteAppendsSent(const std::vector<raft::Message>& messages) {
  auto now = Clock::now();
  for (const auto& m : messages) {
    if (m.type() != v1::MSG_APP || m.entries().empty()) continue;
    auto& sent = appends_in_flight_[m.to()];
    if (sent.size() >= 256) sent.pop_front();  // acks lost: keep the record bounded
    sent.emplace_back(m.entries(m.entries_size() - 1).index(), now);
  }
}

void RaftNode::noteAppendAcked(const raft::Message& ack) {
  if (ack.type() != v1::MSG_APP_RESP || ack.reject()) return;
  auto it = appends_in_flight_.find(ack.from());
  if (it == appends_in_flight_.end()) return;
  std::optional<Clock::time_point> sent;
  while (!it->second.empty() && it->second.front().first <= ack.index()) {
    sent = it->second.front().second;
    it->second.pop_front();
  }
  auto server = servers_.find(ack.from());
  if (sent && server != servers_.end()) {
    metrics_.observeAppendRtt(server->second.name(), secondsSince(*sent));
  }
}

Status RaftNode::applyCommitted(const std::vector<raft::Entry>& entries) {
  if (entries.empty()) return Status::ok();
  auto start = Clock::now();
  std::vector<v1::Command> commands(entries.size());
  std::vector<store::LogEntry> batch;
  batch.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const raft::Entry& e = entries[i];
    if (e.index() <= state_.appliedIndex()) continue;  // already applied (before a restart)
    if (e.type() == v1::ENTRY_NORMAL && !commands[i].ParseFromString(e.data())) {
      LOG_ERROR("raft", "entry " << e.index() << " is not a command; applied as a no-op");
      commands[i].Clear();
    }
    batch.push_back({e.index(), &commands[i]});
  }
  Status written;
  std::vector<store::TxnOutcome> outcomes;
  if (!batch.empty()) outcomes = state_.apply(batch, /*sync=*/false, &written);
  metrics_.observeApply(secondsSince(start), outcomes.size());
  // A failed write applied only a prefix of the batch: the rest is done on the retry.
  uint64_t done_through =
      outcomes.size() < batch.size() ? batch[outcomes.size()].index - 1 : entries.back().index();
  size_t next_outcome = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const raft::Entry& e = entries[i];
    if (e.index() > done_through) break;
    bool applied_now = next_outcome < outcomes.size() && batch[next_outcome].index == e.index();
    store::TxnOutcome outcome;
    if (applied_now) outcome = std::move(outcomes[next_outcome++]);
    if (e.index() <= resolved_through_) continue;  // done by an earlier, partly failed attempt
    if (e.type() == v1::ENTRY_CONF_CHANGE) applyConfChange(e);
    resolveConfWaiters(e);
    const std::string& rid = commands[i].request_id();
    auto by_index = writes_by_index_.find(e.index());
    if (by_index != writes_by_index_.end() && by_index->second != rid) {
      std::string lost = by_index->second;
      writes_by_index_.erase(by_index);
      failWrite(lost, unavailable("leadership changed before the write committed; it was not "
                                  "applied"));
    }
    if (!rid.empty() && writes_.count(rid)) resolveWrite(rid, e.index(), std::move(outcome));
  }
  resolved_through_ = std::max(resolved_through_, done_through);
  return written;
}

void RaftNode::applyConfChange(const raft::Entry& entry) {
  auto cc = raft::decodeConfChange(entry);
  if (!cc.isOk()) return;
  applied_conf_ = cc->conf_after();
  LOG_INFO("raft", "configuration change at index "
                       << entry.index() << ": " << raft::confChangeVerb(cc->type()) << " "
                       << serverName(cc->node_id()) << " (" << applied_conf_.voters_size()
                       << " voters, " << applied_conf_.learners_size() << " learners)");
  // Forget a removed server's address unless a later entry, already appended, adds it back (a
  // server that left and rejoins keeps its ID): the configuration in effect is the log's newest.
  const raft::ProgressTracker& members = raw_->raft().tracker();
  uint64_t id = cc->node_id();
  if (cc->type() == v1::CONF_CHANGE_REMOVE_NODE && id != options_.self.id() &&
      !members.isVoter(id) && !members.learners().count(id)) {
    servers_.erase(id);
    if (transport_) transport_->removePeer(id);
  }
  (void)saveServers();  // on failure, persist() retries before the next write
}

std::string RaftNode::serverName(uint64_t id) const {
  auto it = servers_.find(id);
  return it == servers_.end() ? std::to_string(id)
                              : it->second.name() + " (" + it->second.address() + ")";
}

void RaftNode::rememberServer(const v1::ServerInfo& server) {
  if (server.id() == raft::kNone || server.id() == options_.self.id()) return;
  auto it = servers_.find(server.id());
  if (it != servers_.end() && it->second.SerializeAsString() == server.SerializeAsString()) return;
  servers_[server.id()] = server;
  if (transport_) transport_->setPeer(server.id(), server.address());
  (void)saveServers();  // on failure, persist() retries before the next write
}

Status RaftNode::saveServers() {
  v1::ServerList list;
  for (const auto& [id, s] : servers_) *list.add_servers() = s;
  Status saved = log_.setStable("servers", list.SerializeAsString());
  servers_dirty_ = !saved.isOk();
  return saved;
}

void RaftNode::maybeSnapshot() {
  uint64_t applied = state_.appliedIndex();
  if (applied < last_snapshot_index_ + options_.snapshot_every) return;
  auto start = Clock::now();
  v1::SnapshotData data;
  for (const auto& [id, s] : servers_) *data.mutable_servers()->add_servers() = s;
  data.set_state_image(state_.image());
  raft::Snapshot snap;
  snap.mutable_metadata()->set_index(applied);
  snap.mutable_metadata()->set_term(log_.term(applied).value_or(0));
  *snap.mutable_metadata()->mutable_conf_state() = applied_conf_;
  snap.set_data(data.SerializeAsString());
  if (Status saved = log_.saveSnapshot(snap, options_.snapshot_retain); !saved.isOk()) {
    LOG_WARN("raft", "could not save a snapshot at index " << applied << ": " << saved.message());
    return;  // tried again after the next Ready that applies something
  }
  last_snapshot_index_ = applied;
  metrics_.observeSnapshotSave(secondsSince(start));
  LOG_INFO("raft", "snapshot at index " << applied << " (" << snap.data().size() << " bytes)");
}

Status RaftNode::restoreSnapshot(const raft::Snapshot& snapshot) {
  auto start = Clock::now();
  v1::SnapshotData data;
  CHECK_MSG(data.ParseFromString(snapshot.data()), "snapshot data from the leader is corrupt");
  for (const auto& s : data.servers().servers()) rememberServer(s);
  Status restored = state_.restore(data.state_image());
  // An image it cannot read is a bug or a corrupt leader; a write that failed is retried.
  CHECK_MSG(restored.code() != StatusCode::kInvalidArgument,
            ("cannot install the leader's snapshot: " + restored.message()).c_str());
  if (!restored.isOk()) return restored;
  applied_conf_ = snapshot.metadata().conf_state();
  last_snapshot_index_ = snapshot.metadata().index();
  metrics_.observeSnapshotRestore(secondsSince(start));
  LOG_INFO("raft", "restored snapshot at index " << snapshot.metadata().index());
  return Status::ok();
}

void RaftNode::onSoftState(const raft::SoftState& soft) {
  if (soft.lead != lead_) {
    metrics_.incLeaderChanges();
    // By node name and address (serverName): a raw 64-bit Raft ID tells an operator nothing.
    LOG_INFO("raft", "leader is now " << (soft.lead == raft::kNone ? std::string("(none)")
                                                                   : serverName(soft.lead))
                                      << " (I am " << raft::stateName(soft.state) << ")");
  }
  lead_ = soft.lead;
}

void RaftNode::publish() {
  const raft::Raft& r = raw_->raft();
  std::lock_guard lock(status_mu_);
  Published& p = published_;
  if (r.lead() != raft::kNone && (r.lead() != p.lead || r.state() == raft::StateType::kLeader)) {
    p.last_leader_contact = Clock::now();
  }
  p.lead = r.lead();
  p.is_leader = r.state() == raft::StateType::kLeader;
  p.term = r.term();
  p.conf = r.tracker().confState();
  // Consul never reports 0: the bootstrap configuration counts as index 1.
  p.conf_index =
      r.lastConfIndex() ? r.lastConfIndex() : std::max<uint64_t>(last_snapshot_index_, 1);
  p.servers = servers_;
  p.last_index = r.log().lastIndex();
  p.commit = r.log().committed();
  p.storage_fault = storage_fault_;
  p.match.clear();
  if (p.is_leader) {
    for (const auto& [id, pr] : r.tracker().all()) p.match[id] = pr.match;
  }
  metrics_.setRaftState(metrics::RaftState{p.lead != raft::kNone, p.is_leader, p.term, p.commit,
                                           state_.appliedIndex()});
}

Status RaftNode::storageFault() const {
  std::lock_guard lock(status_mu_);
  return published_.storage_fault;
}

std::string RaftNode::clusterId() const {
  std::lock_guard lock(status_mu_);
  return cluster_id_;
}

}  // namespace cairn::node
