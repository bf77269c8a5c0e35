// Log replication (thesis §3.5): proposals, AppendEntries with batching and pipelining, flow
// control per follower (Progress), fast backtracking on rejection, and the commit rule (§3.6.2).

#include <algorithm>

#include "core/base/check.h"
#include "core/raft/raft.h"

namespace cairn::raft {

uint64_t Raft::appendEntry(v1::EntryType type, std::string data) {
  Entry e;
  e.set_term(term_);
  e.set_index(log_.lastIndex() + 1);
  e.set_type(type);
  e.set_data(std::move(data));
  std::vector<Entry> ents{std::move(e)};
  uint64_t index = log_.append(ents);
  onLogAppended(index, ents);
  // The leader's own copy counts towards a majority only once durable (onEntriesDurable); the
  // followers get it now (thesis §10.2.1: the leader's fsync overlaps replication).
  pending_appends_ = true;
  return index;
}

StatusOr<ProposalId> Raft::propose(std::string data) {
  if (state_ != StateType::kLeader) return unavailable("raft: not the leader");
  if (lead_transferee_ != kNone) return unavailable("raft: leadership transfer in progress");
  if (!tracker_.isMember(id_)) return unavailable("raft: leader is being removed");
  uint64_t index = appendEntry(v1::ENTRY_NORMAL, std::move(data));
  return ProposalId{index, term_};
}

void Raft::flushAppends() {
  if (!pending_appends_) return;
  pending_appends_ = false;
  if (state_ == StateType::kLeader) bcastAppend();
}

void Raft::onEntriesDurable(uint64_t index, uint64_t term) {
  log_.stableTo(index, term);
  if (state_ != StateType::kLeader) return;
  Progress* self = tracker_.progress(id_);
  if (self == nullptr) return;
  if (self->maybeUpdate(durableIndex()) && maybeCommit()) afterCommit();
}

// Sends the next AppendEntries to `to` if flow control allows. Returns whether a message left.
bool Raft::maybeSendAppend(uint64_t to, bool send_if_empty) {
  Progress* pr = tracker_.progress(to);
  if (pr == nullptr || to == id_ || pr->isPaused()) return false;
  uint64_t prev_index = pr->next - 1;
  std::optional<uint64_t> prev_term = log_.term(prev_index);
  if (!prev_term || pr->next < log_.firstIndex()) return sendSnapshot(to, *pr);
  std::vector<Entry> ents;
  if (pr->next <= log_.lastIndex()) {
    uint64_t hi = std::min(log_.lastIndex() + 1, pr->next + cfg_.max_entries_per_msg);
    ents = log_.slice(pr->next, hi, cfg_.max_size_per_msg);
  }
  if (ents.empty() && !send_if_empty) return false;
  Message m;
  m.set_to(to);
  m.set_type(v1::MSG_APP);
  m.set_index(prev_index);
  m.set_log_term(*prev_term);
  m.set_commit(log_.committed());
  uint64_t bytes = 0;
  for (const Entry& e : ents) bytes += entrySize(e);
  if (!ents.empty()) {
    uint64_t last = ents.back().index();
    if (pr->state == ProgressState::kReplicate) {
      pr->optimisticUpdate(last);
      pr->inflights.add(last, bytes);
    }
  }
  if (pr->state == ProgressState::kProbe) pr->sentProbe();
  for (Entry& e : ents) *m.add_entries() = std::move(e);
  send(std::move(m));
  return true;
}

// Pipelining: in kReplicate, keep sending batches until the inflight window is full.
void Raft::fillPipeline(uint64_t to) {
  Progress* pr = tracker_.progress(to);
  while (pr != nullptr && pr->state == ProgressState::kReplicate && maybeSendAppend(to, false)) {
  }
}

void Raft::bcastAppend() {
  for (auto& [id, pr] : tracker_.all()) {
    if (id == id_) continue;
    if (maybeSendAppend(id, true)) fillPipeline(id);
  }
}

void Raft::bcastHeartbeat() {
  if (read_only_.needsRound()) read_only_.startRound();
  for (auto& [id, pr] : tracker_.all()) {
    if (id == id_) continue;
    Message m;
    m.set_to(id);
    m.set_type(v1::MSG_HEARTBEAT);
    // Never tell a follower to commit past what we know it has (it may hold a divergent tail).
    m.set_commit(std::min(pr.match, log_.committed()));
    m.set_read_seq(read_only_.sentSeq());
    m.set_send_tick(tick_count_);
    send(std::move(m));
  }
}

// §3.6.2: a leader commits by counting replicas only entries of its own term; earlier entries
// are committed indirectly.
bool Raft::maybeCommit() { return log_.maybeCommit(tracker_.committedIndex(), term_); }

void Raft::afterCommit() {
  flushReadsWaitingForCommit();
  maybeStepDownAfterRemoval();
  if (state_ == StateType::kLeader) bcastAppend();  // followers learn the new commit index
}

uint64_t Raft::committedInCurrentTerm() const {
  return log_.term(log_.committed()) == term_ ? log_.committed() : 0;
}

void Raft::handleAppendEntries(const Message& m) {
  Message resp;
  resp.set_to(m.from());
  resp.set_type(v1::MSG_APP_RESP);
  if (m.index() < log_.committed()) {
    resp.set_index(log_.committed());
    send(std::move(resp));
    return;
  }
  std::vector<Entry> ents(m.entries().begin(), m.entries().end());
  uint64_t conflict = log_.matchTerm(m.index(), m.log_term()) ? log_.findConflict(ents) : 0;
  if (conflict != 0 && conflict <= log_.lastIndex()) dropAcksFrom(conflict);
  if (auto last_new = log_.maybeAppend(m.index(), m.log_term(), m.commit(), ents)) {
    if (conflict != 0) {
      auto first = ents.begin() + static_cast<std::ptrdiff_t>(conflict - ents[0].index());
      onLogAppended(conflict, std::vector<Entry>(first, ents.end()));
    }
    resp.set_index(*last_new);
    send(std::move(resp));
    return;
  }
  // Fast backtracking: tell the leader the last index that may match, with its term, so it can
  // skip a whole divergent term per round trip.
  uint64_t hint = log_.findConflictByTerm(std::min(m.index(), log_.lastIndex()), m.log_term());
  resp.set_index(m.index());
  resp.set_reject(true);
  resp.set_reject_hint(hint);
  resp.set_log_term(log_.term(hint).value_or(0));
  send(std::move(resp));
}

// The log is about to lose entries from `index` on: acknowledgements of them that have not been
// handed out yet would leave after the truncation is durable, vouching for entries we no longer
// have — drop them (acks in an outstanding Ready are fine: they leave before the truncation is
// written).
void Raft::dropAcksFrom(uint64_t index) {
  std::erase_if(msgs_, [index](const Message& m) {
    return m.type() == v1::MSG_APP_RESP && !m.reject() && m.index() >= index;
  });
}

void Raft::handleHeartbeat(const Message& m) {
  log_.commitTo(std::min(m.commit(), log_.lastIndex()));
  Message resp;
  resp.set_to(m.from());
  resp.set_type(v1::MSG_HEARTBEAT_RESP);
  resp.set_read_seq(m.read_seq());
  resp.set_send_tick(m.send_tick());
  send(std::move(resp));
}

void Raft::handleAppendResponse(const Message& m) {
  Progress* pr = tracker_.progress(m.from());
  pr->recent_active = true;
  if (m.reject()) {
    uint64_t hint = m.reject_hint();
    if (m.log_term() > 0) hint = log_.findConflictByTerm(hint, m.log_term());
    if (pr->maybeDecrTo(m.index(), hint)) {
      if (pr->state == ProgressState::kReplicate) pr->becomeProbe();
      sendAppend(m.from());
    }
    return;
  }
  if (m.index() > log_.lastIndex()) return;  // bogus
  bool was_paused = pr->isPaused();
  if (!pr->maybeUpdate(m.index())) {
    if (pr->state == ProgressState::kSnapshot && pr->match >= pr->pending_snapshot) {
      pr->becomeProbe();
      sendAppend(m.from());
    }
    return;
  }
  switch (pr->state) {
    case ProgressState::kProbe:
      pr->becomeReplicate();
      break;
    case ProgressState::kSnapshot:
      if (pr->match >= pr->pending_snapshot) {
        pr->becomeProbe();
        pr->becomeReplicate();
      }
      break;
    case ProgressState::kReplicate:
      pr->inflights.freeLE(m.index());
      break;
  }
  if (maybeCommit()) {
    afterCommit();
  } else if (was_paused || pr->state == ProgressState::kReplicate) {
    if (maybeSendAppend(m.from(), false)) fillPipeline(m.from());
  }
  if (state_ != StateType::kLeader) return;
  if (m.from() == lead_transferee_ && pr->match == log_.lastIndex()) sendTimeoutNow(m.from());
}

void Raft::handleHeartbeatResponse(const Message& m) {
  Progress* pr = tracker_.progress(m.from());
  pr->recent_active = true;
  pr->probe_sent = false;
  if (m.send_tick() <= tick_count_ && (!pr->has_lease_ack || m.send_tick() > pr->lease_ack_tick)) {
    pr->lease_ack_tick = m.send_tick();
    pr->has_lease_ack = true;
  }
  if (m.read_seq() > pr->read_ack_seq) {
    pr->read_ack_seq = m.read_seq();
    releaseReads(tracker_.quorumValue([this](uint64_t id, const Progress& p) {
      return id == id_ ? read_only_.sentSeq() : p.read_ack_seq;
    }));
  }
  if (pr->state == ProgressState::kReplicate && pr->inflights.full()) {
    // A lost append must not stall the pipeline forever: make room for one resend.
    pr->inflights.freeFirstOne();
  }
  if (pr->match < log_.lastIndex() && pr->state != ProgressState::kSnapshot) sendAppend(m.from());
}

}  // namespace cairn::raft
