#include "core/raft/raw_node.h"

#include "core/base/check.h"

namespace cairn::raft {

StatusOr<std::unique_ptr<RawNode>> RawNode::create(const Config& config) {
  CAIRN_RETURN_IF_ERROR(config.validate());
  return std::unique_ptr<RawNode>(new RawNode(config));
}

RawNode::RawNode(const Config& config)
    : raft_(config),
      prev_soft_(raft_.softState()),
      prev_hard_(raft_.hardState()),
      durable_term_(raft_.term()) {}

bool RawNode::hasReady() const {
  if (outstanding_) return false;
  const RaftLog& log = raft_.log();
  return raft_.softState() != prev_soft_ || !hardStateEqual(raft_.hardState(), prev_hard_) ||
         log.unstable().snapshot().has_value() || !log.unstable().entries().empty() ||
         !raft_.msgs().empty() || !raft_.readStates().empty() || raft_.hasPendingAppends() ||
         log.hasNextCommittedEntries();
}

// A leader's replication traffic may leave before this Ready is durable iff its term was durable
// before it (see the contract in raw_node.h).
static bool isEarly(const Message& m, uint64_t durable_term) {
  switch (m.type()) {
    case v1::MSG_APP:
    case v1::MSG_HEARTBEAT:
    case v1::MSG_SNAP:
    case v1::MSG_TIMEOUT_NOW:
      return m.term() == durable_term;
    default:
      return false;
  }
}

Ready RawNode::ready() {
  CHECK_MSG(!outstanding_, "RawNode::ready() called before advance() of the previous Ready");
  raft_.flushAppends();
  Ready rd;
  SoftState ss = raft_.softState();
  if (ss != prev_soft_) rd.soft_state = ss;
  HardState hs = raft_.hardState();
  if (!hardStateEqual(hs, prev_hard_)) rd.hard_state = hs;
  RaftLog& log = raft_.mutableLog();
  if (log.unstable().snapshot()) rd.snapshot = *log.unstable().snapshot();
  rd.entries = log.unstable().entries();
  for (Message& m : raft_.msgs()) {
    (isEarly(m, durable_term_) ? rd.early_messages : rd.messages).push_back(std::move(m));
  }
  raft_.msgs().clear();
  rd.committed_entries = log.nextCommittedEntries(UINT64_MAX);
  if (!rd.committed_entries.empty()) log.acceptApplying(rd.committed_entries.back().index());
  rd.read_states = std::move(raft_.readStates());
  raft_.readStates().clear();
  rd.must_sync = rd.snapshot.has_value() || !rd.entries.empty() ||
                 (rd.hard_state && (rd.hard_state->term() != prev_hard_.term() ||
                                    rd.hard_state->vote() != prev_hard_.vote()));
  prev_soft_ = ss;
  if (rd.hard_state) prev_hard_ = *rd.hard_state;
  outstanding_ = true;
  return rd;
}

void RawNode::advance(const Ready& rd) {
  CHECK_MSG(outstanding_, "RawNode::advance() without a Ready");
  outstanding_ = false;
  if (rd.hard_state) durable_term_ = rd.hard_state->term();
  if (rd.snapshot) {
    raft_.onSnapshotDurable(rd.snapshot->metadata().index());
    raft_.onApplied(rd.snapshot->metadata().index());
  }
  if (!rd.entries.empty()) {
    raft_.onEntriesDurable(rd.entries.back().index(), rd.entries.back().term());
  }
  if (!rd.committed_entries.empty()) raft_.onApplied(rd.committed_entries.back().index());
}

}  // namespace cairn::raft
