// The fault model and the client workload of the simulator: crashes and restarts, partitions,
// proposals, linearizable and lease reads, leadership transfers, membership changes, snapshots.

#include <algorithm>

#include "core/raft/describe.h"
#include "tests/sim/simulator.h"

namespace cairn::sim {

namespace {
constexpr uint64_t kTick = 10;
}

SimOptions optionsForSeed(uint64_t seed) {
  SeededRandom r(seed ^ 0x9e3779b97f4a7c15ULL);
  SimOptions o;
  o.seed = seed;
  o.voters = r.uniform(2) == 0 ? 3 : 5;
  o.spares = static_cast<int>(r.uniform(3));
  o.raft.max_inflight_msgs = 1 + r.uniform(6);
  o.raft.max_entries_per_msg = 1 + r.uniform(6);
  o.raft.snapshot_chunk_bytes = 32 + r.uniform(256);
  o.raft.pre_vote = r.uniform(8) != 0;
  o.raft.check_quorum = r.uniform(8) != 0;
  return o;
}

void Simulator::chaosStep() {
  if (now_ == kTick) {
    // The fault rates of this run, drawn once.
    drop_pct_ = static_cast<int>(rng_.uniform(12));
    dup_pct_ = static_cast<int>(rng_.uniform(6));
    max_delay_ = 5 + rng_.uniform(25);
  }
  maybeCrashOrRestart();
  maybePartition();
  if (rng_.uniform(100) < 35) clientPropose();
  if (rng_.uniform(100) < 10) clientRead();
  if (rng_.uniform(300) == 0) maybeTransfer();
  if (rng_.uniform(60) == 0) maybeConfChange();
  if (rng_.uniform(15) == 0) maybeSnapshot();
  for (SimNode* n : all()) processReady(*n);
}

void Simulator::maybeCrashOrRestart() {
  for (auto it = restart_at_.begin(); it != restart_at_.end();) {
    if (it->second > now_) {
      ++it;
      continue;
    }
    SimNode& n = node(it->first);
    n.restart();
    checker_.onRestart(n);
    trace("node " + std::to_string(n.id()) + " restarted (term " +
          std::to_string(n.raw().raft().term()) + ", durable last index " +
          std::to_string(n.durable().lastIndex()) + ")");
    it = restart_at_.erase(it);
  }
  if (rng_.uniform(120) != 0) return;
  size_t max_down = (nodes_.size() + 1) / 2;
  if (restart_at_.size() >= max_down) return;
  SimNode& victim = node(1 + rng_.uniform(nodes_.size()));
  if (!victim.alive()) return;
  bool had_pending = victim.pending().has_value();
  bool state_survives = rng_.uniform(2) == 0;
  victim.crash(state_survives);
  restart_at_[victim.id()] = now_ + kTick * (2 + rng_.uniform(60));
  trace("node " + std::to_string(victim.id()) + " CRASHED" +
        (had_pending ? " losing an unsynced write" : "") +
        (state_survives ? ", state machine kept" : ", state machine lost"));
}

void Simulator::maybePartition() {
  if (!cut_.empty() && now_ >= partition_until_) {
    cut_.clear();
    trace("partition healed");
  }
  if (!cut_.empty() || rng_.uniform(80) != 0) return;
  std::vector<int> side(nodes_.size() + 1);
  std::string desc;
  switch (rng_.uniform(3)) {
    case 0:  // isolate one node
      side[1 + rng_.uniform(nodes_.size())] = 1;
      break;
    case 1:  // random split
      for (size_t i = 1; i <= nodes_.size(); ++i) side[i] = static_cast<int>(rng_.uniform(2));
      break;
    default:  // the leader alone, or a random node if none
      if (SimNode* l = leader()) {
        side[l->id()] = 1;
      } else {
        side[1 + rng_.uniform(nodes_.size())] = 1;
      }
  }
  bool one_way = rng_.uniform(4) == 0;
  for (size_t a = 1; a <= nodes_.size(); ++a) {
    desc += std::to_string(side[a]);
    for (size_t b = 1; b <= nodes_.size(); ++b) {
      if (side[a] == 1 && side[b] == 0) cut_.insert({a, b});
      if (side[a] == 0 && side[b] == 1 && !one_way) cut_.insert({a, b});
    }
  }
  partition_until_ = now_ + kTick * (5 + rng_.uniform(80));
  trace("partition " + desc + (one_way ? " (one-way)" : ""));
}

void Simulator::clientPropose() {
  SimNode* l = leader();
  if (l == nullptr) return;
  int count = 1 + static_cast<int>(rng_.uniform(3));
  for (int i = 0; i < count; ++i) {
    std::string cmd = "c" + std::to_string(next_cmd_++);
    auto id = l->raw().propose(cmd);
    if (!id.isOk()) return;
    proposals_[id->index] = Proposal{l->id(), *id, cmd};
  }
  trace("node " + std::to_string(l->id()) + " proposed " + std::to_string(count));
}

void Simulator::clientRead() {
  SimNode& n = node(1 + rng_.uniform(nodes_.size()));
  if (!n.alive()) return;
  std::string ctx = n.nextReadContext();
  if (!n.raw().readIndex(ctx).isOk()) return;
  reads_[ctx] = PendingRead{n.id(), checker_.maxCommitted()};
}

void Simulator::maybeTransfer() {
  SimNode* l = leader();
  if (l == nullptr) return;
  const auto& voters = l->raw().raft().tracker().voters();
  std::vector<uint64_t> others;
  for (uint64_t v : voters) {
    if (v != l->id()) others.push_back(v);
  }
  if (others.empty()) return;
  uint64_t to = others[rng_.uniform(others.size())];
  if (l->raw().transferLeadership(to).isOk()) {
    trace("node " + std::to_string(l->id()) + " transfers leadership to " + std::to_string(to));
  }
}

void Simulator::maybeConfChange() {
  SimNode* l = leader();
  if (l == nullptr) return;
  const raft::ProgressTracker& t = l->raw().raft().tracker();
  uint64_t id = 1 + rng_.uniform(nodes_.size());
  raft::ConfChange cc;
  cc.set_node_id(id);
  if (t.learners().count(id)) {
    cc.set_type(v1::CONF_CHANGE_ADD_VOTER);
  } else if (t.voters().count(id)) {
    if (t.voters().size() <= 3) return;
    cc.set_type(v1::CONF_CHANGE_REMOVE_NODE);
  } else {
    cc.set_type(v1::CONF_CHANGE_ADD_LEARNER);
  }
  auto r = l->raw().proposeConfChange(cc);
  trace("node " + std::to_string(l->id()) + " proposes conf change " +
        v1::ConfChangeType_Name(cc.type()) + " " + std::to_string(id) +
        (r.isOk() ? "" : ": " + r.status().message()));
}

void Simulator::maybeSnapshot() {
  SimNode& n = node(1 + rng_.uniform(nodes_.size()));
  if (!n.alive()) return;
  if (n.snapshotAndCompact(rng_.uniform(6))) {
    checker_.onSnapshot(n, *n.durable().snapshot());
    trace("node " + std::to_string(n.id()) + " snapshot at " + std::to_string(n.appliedIndex()) +
          ", log now starts at " + std::to_string(n.durable().firstIndex()));
  }
}

void Simulator::heal() {
  chaos_ = false;
  cut_.clear();
  max_delay_ = 5;
  for (auto& [id, at] : restart_at_) {
    SimNode& n = node(id);
    n.restart();
    checker_.onRestart(n);
  }
  restart_at_.clear();
  trace("=== healed: network repaired, all nodes up ===");
}

// Liveness: some leader gets a fresh proposal committed (acknowledged at the proposer).
bool Simulator::livenessProbe() {
  if (probe_) {
    if (checker_.acked().count(probe_->id.index) &&
        checker_.acked().at(probe_->id.index) == probe_->cmd) {
      return true;
    }
    SimNode& p = node(probe_->node);
    if (p.alive() && p.raw().raft().state() == raft::StateType::kLeader &&
        p.raw().raft().term() == probe_->id.term) {
      return false;  // still waiting for it
    }
    probe_.reset();  // the proposer lost leadership: try again with the next leader
  }
  SimNode* l = leader();
  if (l == nullptr) return false;
  std::string cmd = "probe" + std::to_string(++probe_seq_);
  auto id = l->raw().propose(cmd);
  if (!id.isOk()) return false;
  probe_ = Proposal{l->id(), *id, cmd};
  proposals_[id->index] = *probe_;
  processReady(*l);
  return false;
}

// Every member of the leader's configuration applied everything the leader committed.
bool Simulator::converged() {
  SimNode* l = leader();
  if (l == nullptr) return false;
  uint64_t commit = l->raw().raft().log().committed();
  for (uint64_t id : members()) {
    const SimNode& n = node(id);
    if (!n.alive() || n.appliedIndex() < commit) return false;
  }
  return true;
}

}  // namespace cairn::sim
