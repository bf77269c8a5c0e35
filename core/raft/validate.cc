#include "core/raft/validate.h"

namespace cairn::raft {

static Status validateEntries(const Message& m) {
  uint64_t prev_term = m.log_term();
  uint64_t expect = m.index() + 1;
  for (const Entry& e : m.entries()) {
    if (e.index() != expect) return invalidArgument("raft: entries are not contiguous");
    if (e.term() < prev_term || e.term() > m.term()) {
      return invalidArgument("raft: entry terms out of order");
    }
    if (!v1::EntryType_IsValid(e.type())) return invalidArgument("raft: unknown entry type");
    prev_term = e.term();
    ++expect;
  }
  return Status::ok();
}

Status validateMessage(const Message& m, uint64_t self) {
  if (m.to() != self) return invalidArgument("raft: message for another node");
  if (m.from() == kNone || m.from() == self) return invalidArgument("raft: bad sender");
  if (m.type() == v1::MSG_NONE || !v1::RaftMessageType_IsValid(m.type())) {
    return invalidArgument("raft: bad message type");
  }
  if (m.term() == 0) return invalidArgument("raft: message without a term");
  if (!m.entries().empty()) {
    if (m.type() != v1::MSG_APP) return invalidArgument("raft: entries on a non-append");
    if (m.index() + static_cast<uint64_t>(m.entries().size()) < m.index()) {
      return invalidArgument("raft: index overflow");
    }
    return validateEntries(m);
  }
  if (m.type() == v1::MSG_SNAP) {
    const SnapshotMetadata& md = m.snapshot().metadata();
    if (md.index() == 0 || md.term() == 0 || md.term() > m.term()) {
      return invalidArgument("raft: bad snapshot metadata");
    }
  }
  return Status::ok();
}

}  // namespace cairn::raft
