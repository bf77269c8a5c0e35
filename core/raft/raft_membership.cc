// Membership (thesis chapter 4): single-server changes, each taking effect as soon as its entry is
// appended to a log (§4.1) and reverted if that entry is truncated; at most one uncommitted change
// at a time; learners catch up before they are promoted (§4.2.1); a removed leader keeps leading
// until the change commits, without counting itself (§4.2.2).

#include <algorithm>

#include "core/base/check.h"
#include "core/raft/conf_change.h"
#include "core/raft/raft.h"

namespace cairn::raft {

namespace {

bool contains(const google::protobuf::RepeatedField<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void removeId(google::protobuf::RepeatedField<uint64_t>* ids, uint64_t id) {
  auto it = std::find(ids->begin(), ids->end(), id);
  if (it != ids->end()) ids->erase(it);
}

}  // namespace

StatusOr<ConfState> applyConfChange(const ConfState& cs, const ConfChange& cc) {
  if (cc.node_id() == kNone) return invalidArgument("conf change: node id 0");
  ConfState out = cs;
  bool voter = contains(cs.voters(), cc.node_id());
  bool learner = contains(cs.learners(), cc.node_id());
  switch (cc.type()) {
    case v1::CONF_CHANGE_ADD_VOTER:
      if (voter) return invalidArgument("conf change: already a voter");
      removeId(out.mutable_learners(), cc.node_id());
      out.add_voters(cc.node_id());
      break;
    case v1::CONF_CHANGE_ADD_LEARNER:
      if (learner) return invalidArgument("conf change: already a learner");
      removeId(out.mutable_voters(), cc.node_id());
      out.add_learners(cc.node_id());
      break;
    case v1::CONF_CHANGE_REMOVE_NODE:
      if (!voter && !learner) return invalidArgument("conf change: not a member");
      removeId(out.mutable_voters(), cc.node_id());
      removeId(out.mutable_learners(), cc.node_id());
      break;
    default:
      return invalidArgument("conf change: unknown type");
  }
  if (out.voters().empty()) return invalidArgument("conf change: would leave no voter");
  return out;
}

StatusOr<ConfChange> decodeConfChange(const Entry& e) {
  ConfChange cc;
  if (e.type() != v1::ENTRY_CONF_CHANGE || !cc.ParseFromString(e.data()) ||
      cc.conf_after().voters().empty()) {
    return invalidArgument("not a configuration change entry");
  }
  return cc;
}

// Start-up: the snapshot's membership plus every configuration entry in the durable log.
void Raft::initConfig() {
  conf_history_.clear();
  uint64_t first = log_.firstIndex();
  uint64_t last = log_.lastIndex();
  std::vector<Entry> ents;
  for (uint64_t lo = first; lo <= last; lo += ents.size()) {
    ents = log_.slice(lo, last + 1, 16 << 20);
    onLogAppended(lo, ents);
  }
  applyConfState(conf_history_.empty() ? base_conf_ : conf_history_.back().second);
}

uint64_t Raft::lastConfIndex() const {
  return conf_history_.empty() ? 0 : conf_history_.back().first;
}

ConfState Raft::confStateAt(uint64_t index) const {
  const ConfState* in_effect = &base_conf_;
  for (const auto& [at, cs] : conf_history_) {
    if (at > index) break;
    in_effect = &cs;
  }
  return *in_effect;
}

// Entries from `from_index` on were (re)written: forget configurations of truncated entries and
// adopt those of the new ones.
void Raft::onLogAppended(uint64_t from_index, const std::vector<Entry>& ents) {
  size_t before = conf_history_.size();
  while (!conf_history_.empty() && conf_history_.back().first >= from_index) {
    conf_history_.pop_back();
  }
  bool changed = conf_history_.size() != before;
  for (const Entry& e : ents) {
    if (e.type() != v1::ENTRY_CONF_CHANGE) continue;
    auto cc = decodeConfChange(e);
    // An undecodable entry (possible only from a buggy leader) is a no-op on every node alike.
    if (!cc.isOk()) continue;
    conf_history_.emplace_back(e.index(), cc->conf_after());
    changed = true;
  }
  if (changed) applyConfState(conf_history_.empty() ? base_conf_ : conf_history_.back().second);
}

void Raft::applyConfState(const ConfState& cs) {
  tracker_.setConfig(cs, log_.lastIndex() + 1);
  if (state_ != StateType::kLeader) return;
  if (lead_transferee_ != kNone && !tracker_.isVoter(lead_transferee_)) abortLeaderTransfer();
  // A leader that is not a voter keeps leading without counting itself (§4.2.2).
  if (maybeCommit()) afterCommit();
  pending_appends_ = true;  // new members need their first probe
}

void Raft::maybeStepDownAfterRemoval() {
  if (state_ != StateType::kLeader || tracker_.isVoter(id_)) return;
  if (lastConfIndex() <= log_.committed()) becomeFollower(term_, kNone);
}

StatusOr<ProposalId> Raft::proposeConfChange(const ConfChange& cc) {
  if (state_ != StateType::kLeader) return unavailable("raft: not the leader");
  if (lead_transferee_ != kNone) return unavailable("raft: leadership transfer in progress");
  // One change at a time (§4.1), and only after an entry of this term committed: otherwise a
  // change from a previous term may still be pending unseen (the single-server bug).
  if (lastConfIndex() > log_.committed()) return unavailable("raft: a change is pending");
  if (committedInCurrentTerm() == 0) return unavailable("raft: leader not yet settled");
  auto next = applyConfChange(tracker_.confState(), cc);
  if (!next.isOk()) return next.status();
  ConfChange entry = cc;
  *entry.mutable_conf_after() = std::move(*next);
  if (cc.type() == v1::CONF_CHANGE_ADD_VOTER && tracker_.learners().count(cc.node_id())) {
    const Progress* pr = tracker_.progress(cc.node_id());
    if (pr->match < log_.committed()) return unavailable("raft: learner has not caught up");
  }
  uint64_t index = appendEntry(v1::ENTRY_CONF_CHANGE, entry.SerializeAsString());
  return ProposalId{index, term_};
}

// Promotes one caught-up learner per heartbeat when enabled (Consul's autopilot does the same).
void Raft::maybeAutoPromote() {
  if (!cfg_.auto_promote_learners || state_ != StateType::kLeader) return;
  for (uint64_t id : tracker_.learners()) {
    const Progress& pr = tracker_.all().at(id);
    if (pr.match < log_.committed() || !pr.recent_active) continue;
    ConfChange cc;
    cc.set_type(v1::CONF_CHANGE_ADD_VOTER);
    cc.set_node_id(id);
    (void)proposeConfChange(cc);
    return;
  }
}

}  // namespace cairn::raft
