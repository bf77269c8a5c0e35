#include "core/raft/describe.h"

#include <sstream>

namespace cairn::raft {

const char* messageTypeName(MessageType t) {
  switch (t) {
    case v1::MSG_NONE:
      return "None";
    case v1::MSG_PRE_VOTE:
      return "PreVote";
    case v1::MSG_PRE_VOTE_RESP:
      return "PreVoteResp";
    case v1::MSG_VOTE:
      return "Vote";
    case v1::MSG_VOTE_RESP:
      return "VoteResp";
    case v1::MSG_APP:
      return "App";
    case v1::MSG_APP_RESP:
      return "AppResp";
    case v1::MSG_HEARTBEAT:
      return "Heartbeat";
    case v1::MSG_HEARTBEAT_RESP:
      return "HeartbeatResp";
    case v1::MSG_SNAP:
      return "Snap";
    case v1::MSG_SNAP_RESP:
      return "SnapResp";
    case v1::MSG_TIMEOUT_NOW:
      return "TimeoutNow";
    case v1::MSG_READ_INDEX:
      return "ReadIndex";
    case v1::MSG_READ_INDEX_RESP:
      return "ReadIndexResp";
    default:
      return "Unknown";
  }
}

const char* confChangeVerb(v1::ConfChangeType t) {
  switch (t) {
    case v1::CONF_CHANGE_ADD_LEARNER:
      return "added learner";
    case v1::CONF_CHANGE_ADD_VOTER:
      return "added voter";
    case v1::CONF_CHANGE_REMOVE_NODE:
      return "removed";
    default:
      return "changed";
  }
}

std::string describeEntry(const Entry& e) {
  std::ostringstream os;
  os << e.term() << "/" << e.index();
  if (e.type() == v1::ENTRY_EMPTY) os << ":empty";
  if (e.type() == v1::ENTRY_CONF_CHANGE) os << ":conf";
  if (e.type() == v1::ENTRY_NORMAL && !e.data().empty()) {
    os << ":" << (e.data().size() <= 12 ? e.data() : e.data().substr(0, 12) + "..");
  }
  return os.str();
}

std::string describeMessage(const Message& m) {
  std::ostringstream os;
  os << m.from() << "->" << m.to() << " " << messageTypeName(m.type()) << " t" << m.term();
  switch (m.type()) {
    case v1::MSG_APP:
      os << " prev=" << m.log_term() << "/" << m.index() << " commit=" << m.commit() << " ["
         << m.entries_size() << "]";
      if (m.entries_size() > 0) {
        os << " " << describeEntry(m.entries(0));
        if (m.entries_size() > 1) os << ".." << describeEntry(m.entries(m.entries_size() - 1));
      }
      break;
    case v1::MSG_APP_RESP:
      os << " index=" << m.index();
      if (m.reject()) os << " REJECT hint=" << m.log_term() << "/" << m.reject_hint();
      break;
    case v1::MSG_VOTE:
    case v1::MSG_PRE_VOTE:
      os << " last=" << m.log_term() << "/" << m.index();
      if (!m.context().empty()) os << " " << m.context();
      break;
    case v1::MSG_VOTE_RESP:
    case v1::MSG_PRE_VOTE_RESP:
      os << (m.reject() ? " REJECT" : " GRANT");
      break;
    case v1::MSG_HEARTBEAT:
    case v1::MSG_HEARTBEAT_RESP:
      os << " commit=" << m.commit() << " seq=" << m.read_seq() << " tick=" << m.send_tick();
      break;
    case v1::MSG_SNAP:
    case v1::MSG_SNAP_RESP:
      os << " snap=" << m.snapshot().metadata().term() << "/" << m.snapshot().metadata().index()
         << " idx=" << m.index() << " off=" << m.snap_offset() << (m.snap_done() ? " done" : "")
         << (m.reject() ? " REJECT" : "");
      break;
    case v1::MSG_READ_INDEX:
    case v1::MSG_READ_INDEX_RESP:
      os << " index=" << m.index() << " ctx=" << m.context();
      break;
    default:
      break;
  }
  return os.str();
}

std::string describeHardState(const HardState& hs) {
  std::ostringstream os;
  os << "term=" << hs.term() << " vote=" << hs.vote() << " commit=" << hs.commit();
  return os.str();
}

std::string describeConfState(const ConfState& cs) {
  std::ostringstream os;
  os << "voters=[";
  for (int i = 0; i < cs.voters_size(); ++i) os << (i ? "," : "") << cs.voters(i);
  os << "] learners=[";
  for (int i = 0; i < cs.learners_size(); ++i) os << (i ? "," : "") << cs.learners(i);
  os << "]";
  return os.str();
}

}  // namespace cairn::raft
