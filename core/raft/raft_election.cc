// Elections: pre-vote (thesis §9.6), vote (§3.4), leadership transfer (§3.10).

#include "core/base/check.h"
#include "core/raft/raft.h"

namespace cairn::raft {

void Raft::campaign(bool pre_vote, bool transfer) {
  uint64_t vote_term;
  v1::RaftMessageType type;
  if (pre_vote) {
    becomePreCandidate();
    vote_term = term_ + 1;
    type = v1::MSG_PRE_VOTE;
  } else {
    becomeCandidate();
    vote_term = term_;
    type = v1::MSG_VOTE;
  }
  tracker_.recordVote(id_, true);
  if (tracker_.tallyVotes() == VoteResult::kWon) {
    // A single-voter configuration wins at once.
    if (pre_vote) {
      campaign(false, transfer);
    } else {
      becomeLeader();
    }
    return;
  }
  for (uint64_t peer : tracker_.voters()) {
    if (peer == id_) continue;
    Message m;
    m.set_to(peer);
    m.set_type(type);
    m.set_term(vote_term);
    m.set_index(log_.lastIndex());
    m.set_log_term(log_.lastTerm());
    if (transfer) m.set_context("transfer");
    send(std::move(m));
  }
}

void Raft::handleVoteRequest(const Message& m) {
  bool pre = m.type() == v1::MSG_PRE_VOTE;
  // §3.6 election restriction plus one vote per term; a pre-vote for a future term commits us to
  // nothing, so any up-to-date candidate may have one.
  bool can_vote =
      vote_ == m.from() || (vote_ == kNone && lead_ == kNone) || (pre && m.term() > term_);
  Message resp;
  resp.set_to(m.from());
  resp.set_type(pre ? v1::MSG_PRE_VOTE_RESP : v1::MSG_VOTE_RESP);
  if (can_vote && log_.isUpToDate(m.index(), m.log_term())) {
    // The response carries the request's term so the candidate counts it; a granted real vote
    // only leaves after the HardState recording it is durable (RawNode puts responses after
    // persistence).
    resp.set_term(m.term());
    if (!pre) {
      election_elapsed_ = 0;
      vote_ = m.from();
    }
  } else {
    resp.set_reject(true);
  }
  send(std::move(resp));
}

void Raft::handleVoteResponse(const Message& m) {
  if (!tracker_.isVoter(m.from())) return;
  tracker_.recordVote(m.from(), !m.reject());
  switch (tracker_.tallyVotes()) {
    case VoteResult::kWon:
      if (state_ == StateType::kPreCandidate) {
        campaign(false, false);
      } else {
        becomeLeader();
        bcastAppend();
      }
      break;
    case VoteResult::kLost:
      becomeFollower(term_, kNone);
      break;
    case VoteResult::kPending:
      break;
  }
}

Status Raft::transferLeadership(uint64_t to) {
  if (state_ != StateType::kLeader) return unavailable("raft: not the leader");
  if (to == id_) return invalidArgument("raft: already the leader");
  if (!tracker_.isVoter(to)) return invalidArgument("raft: transferee is not a voter");
  if (lead_transferee_ == to) return Status::ok();
  lead_transferee_ = to;
  // The transfer must finish within one election timeout, else it is aborted (tickHeartbeat).
  election_elapsed_ = 0;
  Progress* pr = tracker_.progress(to);
  if (pr->match == log_.lastIndex()) {
    sendTimeoutNow(to);
  } else {
    sendAppend(to);
  }
  return Status::ok();
}

void Raft::sendTimeoutNow(uint64_t to) {
  // The transferee may win an election in term_+1 at any time from now on, bypassing the
  // followers' lease check: our lease is void for the rest of this term.
  lease_revoked_in_term_ = true;
  Message m;
  m.set_to(to);
  m.set_type(v1::MSG_TIMEOUT_NOW);
  send(std::move(m));
}

}  // namespace cairn::raft
