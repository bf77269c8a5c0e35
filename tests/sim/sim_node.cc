#include "tests/sim/sim_node.h"

#include "core/base/check.h"
#include "core/raft/conf_change.h"

namespace cairn::sim {

SimNode::SimNode(uint64_t id, raft::ConfState bootstrap, uint64_t seed, SimRaftParams params)
    : id_(id), params_(params), rng_(seed), durable_(std::move(bootstrap)) {
  build();
}

void SimNode::build() {
  auto snap = durable_.snapshot();
  CHECK(snap.isOk());
  if (!state_survives_ || applied_index_ < snap->metadata().index()) {
    sm_ = decodeState(snap->data());
    applied_index_ = snap->metadata().index();
  }
  raft::Config cfg;
  cfg.id = id_;
  cfg.election_tick = params_.election_tick;
  cfg.heartbeat_tick = params_.heartbeat_tick;
  cfg.storage = &durable_;
  cfg.random = &rng_;
  cfg.applied = applied_index_;
  cfg.max_entries_per_msg = params_.max_entries_per_msg;
  cfg.max_size_per_msg = params_.max_size_per_msg;
  cfg.max_inflight_msgs = params_.max_inflight_msgs;
  cfg.snapshot_chunk_bytes = params_.snapshot_chunk_bytes;
  cfg.lease_ticks = params_.check_quorum ? params_.lease_ticks : 0;
  cfg.pre_vote = params_.pre_vote;
  cfg.check_quorum = params_.check_quorum;
  auto raw = raft::RawNode::create(cfg);
  CHECK_MSG(raw.isOk(), raw.status().message().c_str());
  raw_ = std::move(*raw);
  // Entries up to applied_index_ are not delivered again: their configuration comes from raft.
  applied_conf_ = raw_->raft().confStateAt(applied_index_);
}

void SimNode::crash(bool state_survives) {
  alive_ = false;
  state_survives_ = state_survives;
  pending_.reset();
  ++generation_;
}

void SimNode::restart() {
  alive_ = true;
  ++generation_;
  read_seq_ = 0;
  build();
}

void SimNode::persist(const raft::Ready& rd) {
  if (rd.snapshot) durable_.applySnapshot(*rd.snapshot);
  durable_.append(rd.entries);
  if (rd.hard_state) durable_.setHardState(*rd.hard_state);
}

void SimNode::applyEntry(const raft::Entry& e) {
  CHECK_MSG(e.index() == applied_index_ + 1, "entries applied out of order");
  applied_index_ = e.index();
  if (e.type() == v1::ENTRY_NORMAL && !e.data().empty()) sm_[e.index()] = e.data();
  if (e.type() == v1::ENTRY_CONF_CHANGE) {
    auto cc = raft::decodeConfChange(e);
    if (cc.isOk()) applied_conf_ = cc->conf_after();
  }
}

void SimNode::restoreSnapshot(const raft::Snapshot& snap) {
  sm_ = decodeState(snap.data());
  applied_index_ = snap.metadata().index();
  applied_conf_ = snap.metadata().conf_state();
}

bool SimNode::snapshotAndCompact(uint64_t keep) {
  uint64_t snap_index = durable_.snapshot()->metadata().index();
  if (applied_index_ <= snap_index || applied_index_ > durable_.lastIndex()) return false;
  if (!durable_.createSnapshot(applied_index_, applied_conf_, encodeState(sm_)).isOk()) {
    return false;
  }
  if (applied_index_ > keep && applied_index_ - keep >= durable_.firstIndex()) {
    (void)durable_.compact(applied_index_ - keep);
  }
  return true;
}

std::string SimNode::encodeState(const std::map<uint64_t, std::string>& sm) {
  std::string out;
  for (const auto& [index, cmd] : sm) {
    out += std::to_string(index);
    out += '=';
    out += cmd;
    out += ';';
  }
  return out;
}

std::map<uint64_t, std::string> SimNode::decodeState(const std::string& data) {
  std::map<uint64_t, std::string> sm;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t eq = data.find('=', pos);
    size_t end = data.find(';', eq);
    CHECK_MSG(eq != std::string::npos && end != std::string::npos, "corrupt sim snapshot");
    sm[std::stoull(data.substr(pos, eq - pos))] = data.substr(eq + 1, end - eq - 1);
    pos = end + 1;
  }
  return sm;
}

}  // namespace cairn::sim
