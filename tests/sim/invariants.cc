#include "tests/sim/invariants.h"

#include <sstream>

#include "core/raft/conf_change.h"
#include "core/raft/describe.h"

namespace cairn::sim {

using raft::Entry;
using raft::Message;

void Checker::fail(const std::string& what) {
  if (failure_.empty()) failure_ = what;
}

Checker::Fingerprint Checker::fingerprint(const Entry& e) {
  return Fingerprint{e.term(), static_cast<int>(e.type()), e.data()};
}

// Votes and append acknowledgements promise durable state: check the promise when they leave.
void Checker::onSend(const SimNode& n, const Message& m) {
  std::ostringstream os;
  if (m.type() == v1::MSG_VOTE_RESP && !m.reject()) {
    const raft::HardState& hs = n.durable().hardState();
    // Durable means: this vote is on disk, or a later term is (which rules out any other vote
    // in m.term() for good).
    if (hs.term() < m.term() || (hs.term() == m.term() && hs.vote() != m.to())) {
      os << "vote durability: node " << n.id() << " granted " << raft::describeMessage(m)
         << " but durable state is " << raft::describeHardState(hs);
      fail(os.str());
    }
    auto [it, inserted] = votes_.emplace(std::make_pair(n.id(), m.term()), m.to());
    if (!inserted && it->second != m.to()) {
      os << "double vote: node " << n.id() << " voted for " << it->second << " and " << m.to()
         << " in term " << m.term();
      fail(os.str());
    }
  }
  if (m.type() == v1::MSG_APP_RESP && !m.reject() && m.index() > n.durable().lastIndex()) {
    os << "ack durability: node " << n.id() << " sent " << raft::describeMessage(m)
       << " but its durable log ends at " << n.durable().lastIndex();
    fail(os.str());
  }
}

void Checker::onPersisted(const SimNode& n, const raft::Ready& rd) {
  for (const Entry& e : rd.entries) {
    auto prev = n.durable().term(e.index() - 1);
    uint64_t prev_term = prev.value_or(UINT64_MAX);
    auto key = std::make_pair(e.index(), e.term());
    auto [it, inserted] = written_.emplace(key, std::make_pair(fingerprint(e), prev_term));
    if (inserted) continue;
    bool prev_ok = prev_term == UINT64_MAX || it->second.second == UINT64_MAX ||
                   it->second.second == prev_term;
    if (!(it->second.first == fingerprint(e)) || !prev_ok) {
      std::ostringstream os;
      os << "log matching: node " << n.id() << " wrote " << raft::describeEntry(e) << " (prev term "
         << prev_term << ") but another log has a different entry " << it->second.first.term << "/"
         << e.index() << " (prev term " << it->second.second << ")";
      fail(os.str());
    }
  }
  NodeWatch& w = watch_[n.id()];
  const raft::HardState& hs = n.durable().hardState();
  if (hs.term() < w.durable_term || hs.commit() < w.durable_commit) {
    fail("durable term or commit went backwards on node " + std::to_string(n.id()));
  }
  w.durable_term = hs.term();
  w.durable_commit = hs.commit();
  if (hs.commit() > n.durable().lastIndex()) {
    fail("durable commit beyond durable log on node " + std::to_string(n.id()));
  }
}

void Checker::onApply(const SimNode& n, const Entry& e) {
  std::ostringstream os;
  auto c = committed_.find(e.index());
  if (c == committed_.end() || !(c->second == fingerprint(e))) {
    os << "node " << n.id() << " applied " << raft::describeEntry(e)
       << " which is not the committed entry at that index";
    fail(os.str());
  }
  if (e.type() == v1::ENTRY_CONF_CHANGE) {
    if (auto cc = raft::decodeConfChange(e); cc.isOk()) conf_applied_[e.index()] = cc->conf_after();
  }
  auto [it, inserted] = applied_.emplace(e.index(), fingerprint(e));
  if (!inserted && !(it->second == fingerprint(e))) {
    os << "state-machine safety: node " << n.id() << " applied " << raft::describeEntry(e)
       << " but another node applied term " << it->second.term << " data '" << it->second.data
       << "' at that index";
    fail(os.str());
  }
}

void Checker::onSnapshot(const SimNode& n, const raft::Snapshot& snap) {
  auto after = conf_applied_.upper_bound(snap.metadata().index());
  if (after == conf_applied_.begin()) return;  // no change applied yet: the bootstrap's
  const raft::ConfState& want = std::prev(after)->second;
  if (snap.metadata().conf_state().SerializeAsString() != want.SerializeAsString()) {
    fail("snapshot on node " + std::to_string(n.id()) + " at " +
         std::to_string(snap.metadata().index()) + " records membership " +
         snap.metadata().conf_state().ShortDebugString() + " but " + want.ShortDebugString() +
         " is in effect there");
  }
}

void Checker::onRestore(const SimNode& n, const raft::Snapshot& snap) {
  onSnapshot(n, snap);
  auto sm = SimNode::decodeState(snap.data());
  uint64_t upto = snap.metadata().index();
  for (const auto& [index, fp] : applied_) {
    if (index > upto) break;
    if (fp.type != v1::ENTRY_NORMAL || fp.data.empty()) continue;
    auto it = sm.find(index);
    if (it == sm.end() || it->second != fp.data) {
      fail("snapshot restored on node " + std::to_string(n.id()) + " lacks applied entry " +
           std::to_string(index));
      return;
    }
  }
  for (const auto& [index, cmd] : sm) {
    auto it = applied_.find(index);
    if (it != applied_.end() && it->second.data != cmd) {
      fail("snapshot on node " + std::to_string(n.id()) + " disagrees at " + std::to_string(index));
    }
  }
}

void Checker::onRestart(const SimNode& n) {
  NodeWatch& w = watch_[n.id()];
  const raft::Raft& r = n.raw().raft();
  w.term = r.term();
  w.commit = r.log().committed();
  w.checked_commit = w.commit;
  w.applied = n.appliedIndex();
}

void Checker::recordCommitted(const SimNode& n, uint64_t index, const Entry& e, uint64_t term) {
  auto [it, inserted] = committed_.emplace(index, fingerprint(e));
  if (!inserted && !(it->second == fingerprint(e))) {
    std::ostringstream os;
    os << "committed entry changed: node " << n.id() << " has " << raft::describeEntry(e)
       << " committed, but term " << it->second.term << " was committed there before";
    fail(os.str());
  }
  auto [ct, ins] = commit_term_.emplace(index, term);
  if (!ins && term < ct->second) ct->second = term;
}

void Checker::checkNode(const SimNode& n, NodeWatch& w) {
  const raft::Raft& r = n.raw().raft();
  const raft::RaftLog& log = r.log();
  std::ostringstream os;
  if (r.term() < w.term || log.committed() < w.commit || n.appliedIndex() < w.applied) {
    os << "node " << n.id() << " went backwards: term " << w.term << "->" << r.term() << " commit "
       << w.commit << "->" << log.committed() << " applied " << w.applied << "->"
       << n.appliedIndex();
    fail(os.str());
  }
  w.term = r.term();
  w.commit = log.committed();
  w.applied = n.appliedIndex();
  if (log.committed() > w.checked_commit) {
    uint64_t lo = std::max(w.checked_commit + 1, log.firstIndex());
    if (lo <= log.committed()) {
      for (const Entry& e : log.slice(lo, log.committed() + 1, UINT64_MAX)) {
        recordCommitted(n, e.index(), e, r.term());
      }
    }
    w.checked_commit = log.committed();
  }
  if (r.state() == raft::StateType::kLeader) {
    auto [it, inserted] = leader_of_term_.emplace(r.term(), n.id());
    if (inserted) {
      checkNewLeader(n);
    } else if (it->second != n.id()) {
      os << "election safety: nodes " << it->second << " and " << n.id() << " both leaders in term "
         << r.term();
      fail(os.str());
    }
  }
}

// Leader completeness (thesis §3.6.3): a leader of term T holds every entry committed before T.
void Checker::checkNewLeader(const SimNode& n) {
  const raft::Raft& r = n.raw().raft();
  for (const auto& [index, ct] : commit_term_) {
    if (ct >= r.term() || index < r.log().firstIndex()) continue;
    auto t = r.log().term(index);
    if (!t || *t != committed_.at(index).term) {
      std::ostringstream os;
      os << "leader completeness: node " << n.id() << " leads term " << r.term()
         << " without committed entry " << committed_.at(index).term << "/" << index;
      fail(os.str());
      return;
    }
  }
}

void Checker::afterEvent(const std::vector<SimNode*>& nodes) {
  for (SimNode* n : nodes) {
    if (n->alive()) checkNode(*n, watch_[n->id()]);
  }
}

void Checker::onReadState(const SimNode& n, const raft::ReadState& rs, uint64_t at_request) {
  if (rs.index < at_request) {
    std::ostringstream os;
    os << "linearizable read: node " << n.id() << " got read index " << rs.index << " for "
       << rs.context << " but " << at_request << " was committed when it was asked";
    fail(os.str());
  }
}

void Checker::onLeaseRead(const SimNode& n, uint64_t index) {
  if (index < maxCommitted()) {
    std::ostringstream os;
    os << "lease read: leader " << n.id() << " would serve index " << index << " but "
       << maxCommitted() << " is committed";
    fail(os.str());
  }
}

void Checker::onAcked(uint64_t index, const std::string& cmd) {
  acked_[index] = cmd;
  auto it = applied_.find(index);
  if (it == applied_.end() || it->second.data != cmd) {
    fail("acknowledged command at " + std::to_string(index) + " was not applied there");
  }
}

void Checker::checkNoAckedLoss(const std::vector<SimNode*>& nodes,
                               const std::set<uint64_t>& members) {
  for (SimNode* n : nodes) {
    if (!members.count(n->id())) continue;
    for (const auto& [index, cmd] : acked_) {
      auto it = n->stateMachine().find(index);
      if (n->appliedIndex() < index || it == n->stateMachine().end() || it->second != cmd) {
        std::ostringstream os;
        os << "lost acknowledged command: node " << n->id() << " (applied " << n->appliedIndex()
           << ") lacks '" << cmd << "' at " << index;
        fail(os.str());
        return;
      }
    }
  }
}

}  // namespace cairn::sim
