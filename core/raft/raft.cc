#include "core/raft/raft.h"

#include <algorithm>

#include "core/base/check.h"
#include "core/raft/validate.h"

namespace cairn::raft {

const char* stateName(StateType s) {
  switch (s) {
    case StateType::kFollower:
      return "follower";
    case StateType::kPreCandidate:
      return "pre-candidate";
    case StateType::kCandidate:
      return "candidate";
    case StateType::kLeader:
      return "leader";
  }
  return "?";
}

Raft::Raft(const Config& config)
    : cfg_(config),
      id_(config.id),
      log_(config.storage),
      tracker_(config.max_inflight_msgs, config.max_inflight_bytes) {
  CHECK_MSG(cfg_.validate().isOk(), cfg_.validate().message().c_str());
  InitialState init = cfg_.storage->initialState();
  log_.initCommitted(init.hard_state.commit(), cfg_.applied);
  term_ = init.hard_state.term();
  vote_ = init.hard_state.vote();
  base_conf_ = init.conf_state;
  initConfig();
  becomeFollower(term_, kNone);
}

HardState Raft::hardState() const {
  HardState hs;
  hs.set_term(term_);
  hs.set_vote(vote_);
  hs.set_commit(log_.committed());
  return hs;
}

bool Raft::promotable() const {
  return tracker_.isVoter(id_) && !log_.unstable().snapshot().has_value();
}

bool Raft::inLease() const {
  if (!cfg_.check_quorum || election_elapsed_ >= cfg_.election_tick) return false;
  // After a restart we may have acknowledged a leader just before crashing: with leases on, wait
  // out one election timeout before helping anyone depose it.
  return lead_ != kNone || (just_started_ && cfg_.lease_ticks > 0);
}

uint64_t Raft::durableIndex() const {
  if (log_.unstable().snapshot()) return 0;
  return std::min(log_.unstable().offset() - 1, log_.storage().lastIndex());
}

void Raft::resetRandomizedElectionTimeout() {
  randomized_election_timeout_ =
      cfg_.election_tick + static_cast<int>(cfg_.random->uniform(cfg_.election_tick));
}

void Raft::reset(uint64_t term) {
  if (term_ != term) {
    CHECK_MSG(term > term_, "term went backwards");
    term_ = term;
    vote_ = kNone;
    lease_revoked_in_term_ = false;
  }
  lead_ = kNone;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  resetRandomizedElectionTimeout();
  abortLeaderTransfer();
  tracker_.resetVotes();
  tracker_.resetAll(log_.lastIndex() + 1);
  read_only_.reset();
  reads_waiting_for_commit_.clear();
  pending_appends_ = false;
  snap_out_.reset();
}

void Raft::becomeFollower(uint64_t term, uint64_t lead) {
  reset(term);
  lead_ = lead;
  state_ = StateType::kFollower;
}

void Raft::becomePreCandidate() {
  CHECK_MSG(state_ != StateType::kLeader, "leader cannot become pre-candidate");
  // Pre-vote (thesis §9.6) changes neither term nor vote.
  tracker_.resetVotes();
  lead_ = kNone;
  state_ = StateType::kPreCandidate;
}

void Raft::becomeCandidate() {
  CHECK_MSG(state_ != StateType::kLeader, "leader cannot become candidate");
  reset(term_ + 1);
  vote_ = id_;
  state_ = StateType::kCandidate;
}

void Raft::becomeLeader() {
  CHECK_MSG(state_ == StateType::kCandidate, "only a candidate can become leader");
  reset(term_);
  lead_ = id_;
  state_ = StateType::kLeader;
  if (Progress* self = tracker_.progress(id_)) {
    self->match = durableIndex();
    self->becomeReplicate();
    self->next = log_.lastIndex() + 1;
  }
  // Thesis §6.4: a new leader commits a no-op to learn the commit index of its term.
  appendEntry(v1::ENTRY_EMPTY, {});
}

void Raft::send(Message m) {
  m.set_from(id_);
  if (m.term() == 0) m.set_term(term_);
  msgs_.push_back(std::move(m));
}

Status Raft::step(const Message& m) {
  CAIRN_RETURN_IF_ERROR(validateMessage(m, id_));
  bool drop = false;
  CAIRN_RETURN_IF_ERROR(stepByTerm(m, &drop));
  if (drop) return Status::ok();
  switch (m.type()) {
    case v1::MSG_PRE_VOTE:
    case v1::MSG_VOTE:
      handleVoteRequest(m);
      return Status::ok();
    default:
      break;
  }
  switch (state_) {
    case StateType::kFollower:
      stepFollower(m);
      break;
    case StateType::kPreCandidate:
    case StateType::kCandidate:
      stepCandidate(m);
      break;
    case StateType::kLeader:
      stepLeader(m);
      break;
  }
  return Status::ok();
}

// The term rules common to every state (thesis §3.3 and §9.6).
Status Raft::stepByTerm(const Message& m, bool* drop) {
  bool is_vote = m.type() == v1::MSG_VOTE || m.type() == v1::MSG_PRE_VOTE;
  if (m.term() > term_) {
    bool transfer = m.context() == "transfer";
    if (is_vote && !transfer && inLease()) {
      *drop = true;  // §4.2.3: we hear from a leader; do not let this candidate disrupt it
      return Status::ok();
    }
    if (m.type() == v1::MSG_PRE_VOTE) return Status::ok();  // never changes our term
    if (m.type() == v1::MSG_PRE_VOTE_RESP && !m.reject()) return Status::ok();
    bool from_leader =
        m.type() == v1::MSG_APP || m.type() == v1::MSG_HEARTBEAT || m.type() == v1::MSG_SNAP;
    becomeFollower(m.term(), from_leader ? m.from() : kNone);
    return Status::ok();
  }
  if (m.term() < term_) {
    *drop = true;
    if ((cfg_.check_quorum || cfg_.pre_vote) &&
        (m.type() == v1::MSG_APP || m.type() == v1::MSG_HEARTBEAT)) {
      // A stale leader (e.g. back from a partition) learns our term and steps down. Without
      // this, pre-vote could leave it partitioned forever.
      Message resp;
      resp.set_to(m.from());
      resp.set_type(v1::MSG_APP_RESP);
      send(std::move(resp));
    } else if (m.type() == v1::MSG_PRE_VOTE) {
      Message resp;
      resp.set_to(m.from());
      resp.set_type(v1::MSG_PRE_VOTE_RESP);
      resp.set_reject(true);
      send(std::move(resp));
    }
  }
  return Status::ok();
}

void Raft::stepFollower(const Message& m) {
  switch (m.type()) {
    case v1::MSG_APP:
      election_elapsed_ = 0;
      lead_ = m.from();
      handleAppendEntries(m);
      break;
    case v1::MSG_HEARTBEAT:
      election_elapsed_ = 0;
      lead_ = m.from();
      handleHeartbeat(m);
      break;
    case v1::MSG_SNAP:
      election_elapsed_ = 0;
      lead_ = m.from();
      handleSnapshot(m);
      break;
    case v1::MSG_TIMEOUT_NOW:
      // Thesis §3.10: the leader chose us; skip pre-vote and the lease check.
      if (promotable()) campaign(false, true);
      break;
    case v1::MSG_READ_INDEX_RESP:
      handleReadIndexResponse(m);
      break;
    default:
      break;
  }
}

void Raft::stepCandidate(const Message& m) {
  switch (m.type()) {
    case v1::MSG_APP:
    case v1::MSG_HEARTBEAT:
    case v1::MSG_SNAP:
      // A leader exists in our term (§3.4).
      becomeFollower(m.term(), m.from());
      stepFollower(m);
      break;
    case v1::MSG_PRE_VOTE_RESP:
      if (state_ == StateType::kPreCandidate) handleVoteResponse(m);
      break;
    case v1::MSG_VOTE_RESP:
      if (state_ == StateType::kCandidate) handleVoteResponse(m);
      break;
    default:
      break;
  }
}

void Raft::stepLeader(const Message& m) {
  if (!tracker_.isMember(m.from())) return;
  switch (m.type()) {
    case v1::MSG_APP_RESP:
      handleAppendResponse(m);
      break;
    case v1::MSG_HEARTBEAT_RESP:
      handleHeartbeatResponse(m);
      break;
    case v1::MSG_SNAP_RESP:
      handleSnapshotResponse(m);
      break;
    case v1::MSG_READ_INDEX:
      submitRead(m.from(), m.context());
      break;
    default:
      break;
  }
}

void Raft::tick() {
  ++tick_count_;
  if (state_ == StateType::kLeader) {
    tickHeartbeat();
  } else {
    tickElection();
  }
}

void Raft::tickElection() {
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_tick) just_started_ = false;
  if (promotable() && pastElectionTimeout()) {
    election_elapsed_ = 0;
    campaign(cfg_.pre_vote, false);
  }
}

void Raft::tickHeartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= cfg_.election_tick) {
    election_elapsed_ = 0;
    just_started_ = false;
    if (cfg_.check_quorum && !tracker_.quorumActive(id_)) {
      becomeFollower(term_, kNone);  // thesis §6.2: we may have been deposed
      return;
    }
    abortLeaderTransfer();  // a transfer must finish within one election timeout (§3.10)
  }
  if (heartbeat_elapsed_ >= cfg_.heartbeat_tick) {
    heartbeat_elapsed_ = 0;
    bcastHeartbeat();
    tickSnapshotSenders();
    maybeAutoPromote();
  }
}

void Raft::campaignNow() {
  if (state_ != StateType::kLeader && promotable()) campaign(cfg_.pre_vote, false);
}

}  // namespace cairn::raft
