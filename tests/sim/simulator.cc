#include "tests/sim/simulator.h"

#include <cstdio>
#include <sstream>

#include "core/base/check.h"
#include "core/raft/describe.h"

namespace cairn::sim {

namespace {
constexpr uint64_t kTick = 10;  // time units per tick
}

Simulator::Simulator(SimOptions opts) : opts_(opts), rng_(opts.seed) {
  raft::ConfState bootstrap;
  for (int i = 1; i <= opts_.voters; ++i) bootstrap.add_voters(static_cast<uint64_t>(i));
  int total = opts_.voters + opts_.spares;
  for (int i = 1; i <= total; ++i) {
    auto id = static_cast<uint64_t>(i);
    raft::ConfState cs = i <= opts_.voters ? bootstrap : raft::ConfState{};
    nodes_.push_back(std::make_unique<SimNode>(id, cs, opts_.seed * 1000003 + id, opts_.raft));
    all_.push_back(nodes_.back().get());
    checker_.onRestart(*nodes_.back());
    schedule(1 + rng_.uniform(kTick), EventKind::kTick, id);
  }
  schedule(kTick, EventKind::kChaos, 0);
  trace_.resize(std::max<size_t>(opts_.trace_lines, 1));
}

SimNode* Simulator::leader() {
  SimNode* best = nullptr;
  for (auto& n : nodes_) {
    if (!n->alive() || n->raw().raft().state() != raft::StateType::kLeader) continue;
    if (!best || n->raw().raft().term() > best->raw().raft().term()) best = n.get();
  }
  return best;
}

std::set<uint64_t> Simulator::members() const {
  std::set<uint64_t> out;
  for (const auto& n : nodes_) {
    const raft::Raft& r = n->raw().raft();
    if (!n->alive() || r.state() != raft::StateType::kLeader) continue;
    for (auto& [id, pr] : r.tracker().all()) out.insert(id);
  }
  return out;
}

void Simulator::schedule(uint64_t at, EventKind kind, uint64_t node, uint64_t generation) {
  queue_.push(Event{at, seq_++, kind, node, generation, 0});
}

void Simulator::scheduleDelivery(uint64_t at, const raft::Message& m) {
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(msg_pool_.size());
    msg_pool_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  msg_pool_[slot].CopyFrom(m);
  queue_.push(Event{at, seq_++, EventKind::kDeliver, m.to(), 0, slot});
}

void Simulator::trace(std::string line) {
  if (opts_.verbose) std::fprintf(stderr, "t=%llu %s\n", (unsigned long long)now_, line.c_str());
  TraceRec& r = trace_[trace_next_++ % trace_.size()];
  r.time = now_;
  r.text = std::move(line);
  r.has_msg = false;
}

void Simulator::traceMsg(const char* what, const raft::Message& m) {
  if (opts_.verbose) {
    std::fprintf(stderr, "t=%llu %s %s\n", (unsigned long long)now_, what,
                 raft::describeMessage(m).c_str());
  }
  TraceRec& r = trace_[trace_next_++ % trace_.size()];
  r.time = now_;
  r.text = what;
  r.has_msg = true;
  r.msg.CopyFrom(m);
}

std::string Simulator::renderTrace() const {
  std::ostringstream os;
  size_t n = trace_.size();
  uint64_t start = trace_next_ > n ? trace_next_ - n : 0;
  for (uint64_t i = start; i < trace_next_; ++i) {
    const TraceRec& r = trace_[i % n];
    os << "  t=" << r.time << " " << r.text;
    if (r.has_msg) os << " " << raft::describeMessage(r.msg);
    os << "\n";
  }
  return os.str();
}

SimResult Simulator::run() {
  bool ok = runUntil(static_cast<uint64_t>(opts_.chaos_ticks) * kTick, nullptr);
  if (ok) {
    heal();
    uint64_t deadline = now_ + static_cast<uint64_t>(opts_.liveness_ticks) * kTick;
    bool live = runUntil(deadline, [this] { return livenessProbe() && converged(); });
    if (!checker_.failed() && !live) {
      std::ostringstream os;
      os << "liveness: no leader committed and replicated a proposal to every member within "
         << opts_.liveness_ticks << " ticks after healing";
      result_.failure = os.str();
    }
    if (!checker_.failed() && live) checker_.checkNoAckedLoss(all(), members());
  }
  if (checker_.failed()) result_.failure = checker_.failure();
  result_.ok = result_.failure.empty();
  if (!result_.ok) result_.trace = renderTrace();
  result_.acked = checker_.acked().size();
  result_.committed = checker_.maxCommitted();
  result_.leaders = checker_.leadersElected();
  return result_;
}

// Runs events up to end_time; stops early when `done` holds. Returns false on a violation.
bool Simulator::runUntil(uint64_t end_time, const std::function<bool()>& done) {
  while (!queue_.empty() && queue_.top().time <= end_time) {
    Event ev = queue_.top();
    queue_.pop();
    now_ = ev.time;
    dispatch(ev);
    ++result_.events;
    checker_.afterEvent(all());
    if (checker_.failed()) return false;
    if (done && done()) return true;
  }
  now_ = end_time;
  return done == nullptr;
}

void Simulator::dispatch(Event& ev) {
  switch (ev.kind) {
    case EventKind::kTick: {
      SimNode& n = node(ev.node);
      if (n.alive()) {
        n.raw().tick();
        processReady(n);
      }
      schedule(now_ + kTick, EventKind::kTick, ev.node);
      break;
    }
    case EventKind::kDeliver: {
      // Moved out first: delivering may schedule more messages and grow the pool.
      raft::Message m = std::move(msg_pool_[ev.msg_slot]);
      free_slots_.push_back(ev.msg_slot);
      deliver(m);
      break;
    }
    case EventKind::kFsync: {
      SimNode& n = node(ev.node);
      if (n.alive() && n.generation() == ev.generation && n.pending()) finishFsync(n);
      break;
    }
    case EventKind::kChaos:
      if (chaos_) chaosStep();
      for (SimNode* n : all()) {
        if (!n->alive()) continue;
        if (auto idx = n->raw().leaseReadIndex()) checker_.onLeaseRead(*n, *idx);
      }
      schedule(now_ + kTick, EventKind::kChaos, 0);
      break;
  }
}

void Simulator::processReady(SimNode& n) {
  if (!n.alive() || n.pending() || !n.raw().hasReady()) return;
  raft::Ready rd = n.raw().ready();
  if (rd.soft_state) {
    trace("node " + std::to_string(n.id()) + " is " + raft::stateName(rd.soft_state->state) +
          " term " + std::to_string(n.raw().raft().term()) + " lead " +
          std::to_string(rd.soft_state->lead));
  }
  for (const raft::Message& m : rd.early_messages) send(n, m);
  bool write = rd.snapshot || !rd.entries.empty() || rd.hard_state;
  n.pending() = std::move(rd);
  if (!write) {
    finishFsync(n);
    return;
  }
  // The fsync takes a while; a crash before it completes loses the write.
  uint64_t latency = 1 + rng_.uniform(n.pending()->must_sync ? 8 : 2);
  schedule(now_ + latency, EventKind::kFsync, n.id(), n.generation());
}

void Simulator::finishFsync(SimNode& n) {
  raft::Ready rd = std::move(*n.pending());
  n.pending().reset();
  n.persist(rd);
  checker_.onPersisted(n, rd);
  for (const raft::Message& m : rd.messages) send(n, m);
  if (rd.snapshot) {
    n.restoreSnapshot(*rd.snapshot);
    checker_.onRestore(n, *rd.snapshot);
    trace("node " + std::to_string(n.id()) + " restored snapshot at " +
          std::to_string(rd.snapshot->metadata().index()));
  }
  for (const raft::Entry& e : rd.committed_entries) {
    if (e.index() <= n.appliedIndex()) continue;  // covered by the snapshot just restored
    n.applyEntry(e);
    checker_.onApply(n, e);
    auto it = proposals_.find(e.index());
    if (it != proposals_.end() && it->second.node == n.id() && it->second.id.term == e.term()) {
      checker_.onAcked(e.index(), e.data());
      proposals_.erase(it);
    }
  }
  for (const raft::ReadState& rs : rd.read_states) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end() || it->second.node != n.id()) continue;
    checker_.onReadState(n, rs, it->second.max_committed_at_request);
    ++result_.reads;
    reads_.erase(it);
  }
  n.raw().advance(rd);
  processReady(n);
}

void Simulator::send(SimNode& from, const raft::Message& m) {
  checker_.onSend(from, m);
  bool cut = cut_.count({m.from(), m.to()}) > 0;
  if (chaos_ && (cut || rng_.uniform(100) < static_cast<uint64_t>(drop_pct_))) {
    traceMsg("drop", m);
    return;
  }
  int copies = chaos_ && rng_.uniform(100) < static_cast<uint64_t>(dup_pct_) ? 2 : 1;
  for (int i = 0; i < copies; ++i) {
    scheduleDelivery(now_ + 1 + rng_.uniform(max_delay_), m);
  }
}

void Simulator::deliver(const raft::Message& m) {
  if (m.to() == 0 || m.to() > nodes_.size()) return;
  SimNode& n = node(m.to());
  if (!n.alive()) return;
  traceMsg("recv", m);
  Status s = n.raw().step(m);
  if (!s.isOk()) trace("step rejected: " + s.message());
  processReady(n);
}

}  // namespace cairn::sim
