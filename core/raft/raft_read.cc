// Linearizable reads without log writes: ReadIndex (thesis §6.4) batched into heartbeat rounds,
// follower reads through the leader (§6.4.1), and the leader lease (§6.4.1, "leases").

#include "core/base/check.h"
#include "core/raft/raft.h"

namespace cairn::raft {

Status Raft::readIndex(std::string context) {
  if (state_ == StateType::kLeader) {
    submitRead(id_, std::move(context));
    return Status::ok();
  }
  if (lead_ == kNone) return unavailable("raft: no leader");
  Message m;
  m.set_to(lead_);
  m.set_type(v1::MSG_READ_INDEX);
  m.set_context(std::move(context));
  send(std::move(m));
  return Status::ok();
}

// A read request (local or from a follower) reaches the leader.
void Raft::submitRead(uint64_t from, std::string context) {
  if (committedInCurrentTerm() == 0) {
    // §6.4 step 1: until the no-op of this term commits, our commit index may be stale.
    reads_waiting_for_commit_.emplace_back(from, std::move(context));
    return;
  }
  read_only_.add(log_.committed(), std::move(context), from);
  if (tracker_.quorum() == 1 && tracker_.isVoter(id_)) {
    releaseReads(read_only_.startRound());  // we alone are the majority
    return;
  }
  if (!read_only_.roundInFlight()) startReadRound();
}

void Raft::startReadRound() {
  // bcastHeartbeat starts the round the queued requests wait for.
  bcastHeartbeat();
}

void Raft::flushReadsWaitingForCommit() {
  if (reads_waiting_for_commit_.empty() || committedInCurrentTerm() == 0) return;
  auto waiting = std::move(reads_waiting_for_commit_);
  reads_waiting_for_commit_.clear();
  for (auto& [from, ctx] : waiting) submitRead(from, std::move(ctx));
}

void Raft::releaseReads(uint64_t confirmed_seq) {
  for (ReadOnly::Request& r : read_only_.confirm(confirmed_seq)) answerRead(r);
  // Requests that arrived while the confirmed round was in flight need the next one.
  if (read_only_.needsRound() && !read_only_.roundInFlight()) startReadRound();
}

void Raft::answerRead(const ReadOnly::Request& r) {
  if (r.from == id_) {
    read_states_.push_back(ReadState{r.index, r.context});
    return;
  }
  Message m;
  m.set_to(r.from);
  m.set_type(v1::MSG_READ_INDEX_RESP);
  m.set_index(r.index);
  m.set_context(r.context);
  send(std::move(m));
}

void Raft::handleReadIndexResponse(const Message& m) {
  read_states_.push_back(ReadState{m.index(), m.context()});
}

// The lease: a voter that acknowledged a heartbeat sent at leader tick t will not vote for another
// candidate before it has gone election_tick of its own ticks without hearing from us (inLease),
// so no other leader can exist before t + election_tick on our clock, give or take the drift
// the configuration allows for (election_tick - lease_ticks).
std::optional<uint64_t> Raft::leaseReadIndex() const {
  if (state_ != StateType::kLeader || cfg_.lease_ticks == 0) return std::nullopt;
  if (lead_transferee_ != kNone || lease_revoked_in_term_) return std::nullopt;
  if (committedInCurrentTerm() == 0) return std::nullopt;
  uint64_t now = tick_count_;
  uint64_t quorum_tick = tracker_.quorumValue([this, now](uint64_t id, const Progress& p) {
    if (id == id_) return now + 1;
    return p.has_lease_ack ? p.lease_ack_tick + 1 : 0;
  });
  if (quorum_tick == 0) return std::nullopt;
  uint64_t acked_at = quorum_tick - 1;
  if (acked_at + static_cast<uint64_t>(cfg_.lease_ticks) <= now) return std::nullopt;
  return log_.committed();
}

}  // namespace cairn::raft
