// RaftNode: writes (proposed by the leader, forwarded by followers) and linearizable reads.
#include "core/base/logging.h"
#include "core/node/raft_node.h"

namespace cairn::node {
namespace {

Status noLeader() { return unavailable("No cluster leader"); }

void appendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (56 - 8 * i)));
}

// Unique across servers and restarts: the log keeps entries from earlier runs of this server,
// and a restarted server re-applies them, so the sequence alone would collide.
std::string requestId(uint64_t raft_id, uint64_t boot, uint64_t seq) {
  std::string id;
  id.reserve(24);
  appendU64(id, raft_id);
  appendU64(id, boot);
  appendU64(id, seq);
  return id;
}

// A forwarded write the leader refused before appending it: safe to send again.
bool notAppended(const v1::ForwardResponse& r) {
  return r.error_code() == static_cast<int>(StatusCode::kUnavailable);
}

Status refusedWrite(const Status& fault) {
  return unavailable(fault.message() + "; the write was refused, not applied");
}

}  // namespace

void RaftNode::propose(v1::Command command, ProposeCallback done) {
  // Fail fast while storage refuses writes (the loop re-checks: the fault may start meanwhile).
  if (Status fault = storageFault(); !fault.isOk()) {
    metrics_.incProposalsFailed();
    done(refusedWrite(fault));
    return;
  }
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = ++request_seq_;
  }
  std::string rid = requestId(options_.self.id(), boot_id_, seq);
  command.set_request_id(rid);
  auto w = std::make_shared<PendingWrite>(
      PendingWrite{std::move(done), Clock::now() + options_.hold, command.SerializeAsString(), 0});
  bool queued = post([this, rid, w] {
    if (!storage_fault_.isOk()) {
      metrics_.incProposalsFailed();
      reply([done = std::move(w->done), s = refusedWrite(storage_fault_)] { done(s); });
      return;
    }
    writes_.emplace(rid, std::move(*w));
    submitWrite(rid);
  });
  if (!queued) w->done(shuttingDown());
}

void RaftNode::submitWrite(const std::string& rid) {
  const raft::Raft& r = raw_->raft();
  if (r.state() == raft::StateType::kLeader) {
    auto id = raw_->propose(writes_.at(rid).data);
    if (id.isOk()) {
      writes_.at(rid).index = id->index;
      writes_by_index_[id->index] = rid;
      return;
    }
  } else if (r.lead() != raft::kNone && transport_ && servers_.count(r.lead())) {
    forwardWrite(rid, r.lead());
    return;
  }
  writes_waiting_.push_back(rid);
}

void RaftNode::forwardWrite(const std::string& rid, uint64_t lead) {
  writes_.at(rid).forwarding = true;
  v1::ForwardRequest request;
  request.mutable_command()->ParseFromString(writes_.at(rid).data);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(writes_.at(rid).deadline -
                                                                    Clock::now());
  transport_->forward(servers_.at(lead).address(), std::move(request),
                      std::max(left, std::chrono::milliseconds(1)),
                      [this, rid](StatusOr<v1::ForwardResponse> answer) {
                        // Dropped on shutdown: stop() fails every pending write.
                        (void)post([this, rid, answer = std::move(answer)]() mutable {
                          onForwardAnswer(rid, std::move(answer));
                        });
                      });
}

void RaftNode::onForwardAnswer(const std::string& rid, StatusOr<v1::ForwardResponse> answer) {
  auto it = writes_.find(rid);
  if (it == writes_.end()) return;  // already applied (the answer raced the entry) or failed
  it->second.forwarding = false;
  if (!answer.isOk()) {
    // Unknown whether the leader appended it: the caller must be told it may have happened.
    failWrite(rid, unavailable("forwarding the write to the leader failed (it may or may not have "
                               "been applied): " +
                               answer.status().message()));
    return;
  }
  if (answer->error_code() == 0) {
    it->second.index = answer->index();
    if (answer->index() <= state_.appliedIndex()) {
      failWrite(rid, unavailable("leadership changed before the write committed; it was not "
                                 "applied"));
      return;
    }
    writes_by_index_[answer->index()] = rid;
  } else if (notAppended(*answer)) {
    writes_waiting_.push_back(rid);
  } else {
    failWrite(rid, Status(static_cast<StatusCode>(answer->error_code()), answer->error()));
  }
}

void RaftNode::onForward(v1::ForwardRequest request, transport::Reply<v1::ForwardResponse> reply) {
  bool queued = post([this, request = std::move(request), reply] {
    v1::ForwardResponse response;
    if (raw_->raft().state() != raft::StateType::kLeader) {
      response.set_error_code(static_cast<int>(StatusCode::kUnavailable));
      response.set_error("not the leader");
    } else if (!storage_fault_.isOk()) {
      // Not kUnavailable: the forwarder would wait and send it here again.
      response.set_error_code(static_cast<int>(StatusCode::kInternal));
      response.set_error("the leader's " + refusedWrite(storage_fault_).message());
    } else if (auto id = raw_->propose(request.command().SerializeAsString()); id.isOk()) {
      response.set_index(id->index);
      response.set_term(id->term);
    } else {
      response.set_error_code(static_cast<int>(StatusCode::kUnavailable));
      response.set_error(id.status().message());
    }
    reply(std::move(response));
  });
  if (!queued) {
    v1::ForwardResponse refused;  // not appended: the forwarder may send it again elsewhere
    refused.set_error_code(static_cast<int>(StatusCode::kUnavailable));
    refused.set_error(shuttingDown().message());
    reply(std::move(refused));
  }
}

void RaftNode::resolveWrite(const std::string& rid, uint64_t index, store::TxnOutcome outcome) {
  auto it = writes_.find(rid);
  ProposeCallback done = std::move(it->second.done);
  writes_by_index_.erase(it->second.index);
  writes_.erase(it);
  reply([done = std::move(done), result = ProposeResult{index, std::move(outcome)}]() mutable {
    done(std::move(result));
  });
}

void RaftNode::failWrite(const std::string& rid, Status status) {
  auto it = writes_.find(rid);
  if (it == writes_.end()) return;
  ProposeCallback done = std::move(it->second.done);
  if (it->second.index) writes_by_index_.erase(it->second.index);
  writes_.erase(it);
  metrics_.incProposalsFailed();
  reply([done = std::move(done), status = std::move(status)] { done(status); });
}

void RaftNode::retryWaiting() {
  if (raw_->raft().lead() == raft::kNone) return;
  std::vector<std::string> waiting;
  waiting.swap(writes_waiting_);
  for (const auto& rid : waiting) {
    if (writes_.count(rid)) submitWrite(rid);
  }
  if (!reads_unsent_.empty()) startReadRound();
}

void RaftNode::readBarrier(ReadMode mode, std::function<void(Status)> done) {
  if (mode == ReadMode::kStale) {
    done(Status::ok());
    return;
  }
  auto w = std::make_shared<ReadWaiter>(ReadWaiter{std::move(done), Clock::now() + options_.hold});
  bool queued = post([this, mode, w] {
    if (!storage_fault_.isOk()) return readWhileStalled(std::move(w->done));
    if (mode == ReadMode::kDefault) {
      if (auto index = raw_->leaseReadIndex()) {
        waitApplied(*index, std::move(w->done));
        return;
      }
    }
    reads_unsent_.push_back(std::move(*w));
  });
  if (!queued) w->done(shuttingDown());
}

void RaftNode::readWhileStalled(std::function<void(Status)> done) {
  // A single voter is the only server that can lead: its commit index is safe to read at. Any
  // other server would need a Raft round, whose messages wait for the held Ready.
  const raft::Raft& r = raw_->raft();
  const auto& voters = r.tracker().voters();
  bool alone = r.state() == raft::StateType::kLeader && voters.size() == 1 &&
               *voters.begin() == options_.self.id();
  Status s = alone && r.log().committed() <= state_.appliedIndex()
                 ? Status::ok()
                 : unavailable(storage_fault_.message() +
                               "; this server cannot serve consistent reads until writes resume "
                               "(?stale reads work)");
  reply([done = std::move(done), s] { done(s); });
}

void RaftNode::startReadRound() {
  if (raw_->raft().lead() == raft::kNone) return;  // wait for a leader
  // Unique across restarts: the leader may still answer a request of this server's previous
  // incarnation (same raft ID) with an index from before that crash, which must not be mistaken
  // for the answer to this round.
  std::string context = "r" + std::to_string(boot_id_) + "-" + std::to_string(++read_seq_);
  if (!raw_->readIndex(context).isOk()) return;
  ReadRound& round = read_rounds_[context];
  round.waiters.swap(reads_unsent_);
  round.sent = Clock::now();
}

void RaftNode::onReadStates(const std::vector<raft::ReadState>& states) {
  for (const auto& rs : states) {
    auto it = read_rounds_.find(rs.context);
    if (it == read_rounds_.end()) continue;
    for (auto& w : it->second.waiters) waitApplied(rs.index, std::move(w.done));
    read_rounds_.erase(it);
  }
}

void RaftNode::waitApplied(uint64_t index, std::function<void(Status)> done) {
  if (state_.appliedIndex() >= index) {
    reply([done = std::move(done)] { done(Status::ok()); });
    return;
  }
  applied_waiters_.emplace(index, std::move(done));
}

void RaftNode::releaseAppliedWaiters() {
  uint64_t applied = state_.appliedIndex();
  while (!applied_waiters_.empty() && applied_waiters_.begin()->first <= applied) {
    auto done = std::move(applied_waiters_.begin()->second);
    applied_waiters_.erase(applied_waiters_.begin());
    reply([done = std::move(done)] { done(Status::ok()); });
  }
}

void RaftNode::expireDeadlines(Clock::time_point now) {
  // Writes still waiting for a leader past the hold time never reached a log: "No cluster leader".
  // Writes that reached a log but did not commit within another hold time are left undecided.
  std::vector<std::string> no_leader, undecided;
  for (const auto& [rid, w] : writes_) {
    if (w.index == 0 && !w.forwarding && w.deadline <= now) no_leader.push_back(rid);
    // A forward whose answer never came (the transport's deadline should have ended it).
    if ((w.index != 0 || w.forwarding) && w.deadline + options_.hold <= now) {
      undecided.push_back(rid);
    }
  }
  for (const auto& rid : no_leader) failWrite(rid, noLeader());
  for (const auto& rid : undecided) {
    failWrite(rid, unavailable("timed out waiting for the write to commit; it may or may not "
                               "be applied"));
  }
  std::erase_if(writes_waiting_, [this](const std::string& rid) { return !writes_.count(rid); });
  auto expire = [&](std::vector<ReadWaiter>& waiters) {
    std::erase_if(waiters, [&](ReadWaiter& w) {
      if (w.deadline > now) return false;
      reply([done = std::move(w.done)] { done(noLeader()); });
      return true;
    });
  };
  expire(reads_unsent_);
  // A round whose answer never came (leadership changed): its reads go to the next round.
  auto retry_after = options_.tick * options_.election_tick;
  for (auto it = read_rounds_.begin(); it != read_rounds_.end();) {
    if (now - it->second.sent < retry_after) {
      ++it;
      continue;
    }
    for (auto& w : it->second.waiters) reads_unsent_.push_back(std::move(w));
    it = read_rounds_.erase(it);
  }
  expire(reads_unsent_);
  if (!reads_unsent_.empty()) startReadRound();
}

}  // namespace cairn::node
