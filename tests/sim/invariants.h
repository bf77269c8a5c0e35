#pragma once
// Checker: the safety invariants of Raft, checked incrementally after every simulator event
// (docs/raft.md §"Simulator invariants" explains each). A violation is recorded as a message;
// the simulator stops at the first one.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/sim/sim_node.h"

namespace cairn::sim {

class Checker {
 public:
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }

  // A message leaves node n (votes and acknowledgements must be backed by durable state).
  void onSend(const SimNode& n, const raft::Message& m);
  // Node n finished an fsync of its pending Ready.
  void onPersisted(const SimNode& n, const raft::Ready& rd);
  // Node n applied a committed entry / restored a snapshot into its state machine.
  void onApply(const SimNode& n, const raft::Entry& e);
  void onRestore(const SimNode& n, const raft::Snapshot& snap);
  // Node n took a snapshot of its state machine: its membership must be the one in effect at
  // its index.
  void onSnapshot(const SimNode& n, const raft::Snapshot& snap);
  // After every event: election safety, leader completeness, monotonicity, committed prefixes.
  void afterEvent(const std::vector<SimNode*>& nodes);
  void onRestart(const SimNode& n);

  // The highest index known committed anywhere right now (reads must not return less).
  uint64_t maxCommitted() const { return committed_.empty() ? 0 : committed_.rbegin()->first; }
  void onReadState(const SimNode& n, const raft::ReadState& rs, uint64_t max_committed_at_request);
  void onLeaseRead(const SimNode& n, uint64_t index);

  // Commands reported committed to clients: (index -> command).
  void onAcked(uint64_t index, const std::string& cmd);
  const std::map<uint64_t, std::string>& acked() const { return acked_; }
  // End of run: every member's state machine holds every acknowledged command.
  void checkNoAckedLoss(const std::vector<SimNode*>& nodes, const std::set<uint64_t>& members);

  size_t leadersElected() const { return leader_of_term_.size(); }

 private:
  struct Fingerprint {
    uint64_t term;
    int type;
    std::string data;
    bool operator==(const Fingerprint&) const = default;
  };
  struct NodeWatch {
    uint64_t term = 0;
    uint64_t commit = 0;
    uint64_t checked_commit = 0;  // entries up to here were compared with committed_
    uint64_t durable_term = 0;
    uint64_t durable_commit = 0;
    uint64_t applied = 0;
  };
  void fail(const std::string& what);
  void checkNode(const SimNode& n, NodeWatch& w);
  void checkNewLeader(const SimNode& n);
  void recordCommitted(const SimNode& n, uint64_t index, const raft::Entry& e, uint64_t term);
  static Fingerprint fingerprint(const raft::Entry& e);

  std::string failure_;
  std::map<uint64_t, uint64_t> leader_of_term_;
  // Log matching: (index, term) -> content and the term of the entry before it.
  std::map<std::pair<uint64_t, uint64_t>, std::pair<Fingerprint, uint64_t>> written_;
  // Committed entries: index -> content, and the lowest term in which a node saw it committed.
  std::map<uint64_t, Fingerprint> committed_;
  std::map<uint64_t, uint64_t> commit_term_;
  std::map<uint64_t, Fingerprint> applied_;                  // state-machine safety
  std::map<uint64_t, raft::ConfState> conf_applied_;         // index of a conf change -> its result
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> votes_;  // (voter, term) -> candidate
  std::map<uint64_t, NodeWatch> watch_;
  std::map<uint64_t, std::string> acked_;
};

}  // namespace cairn::sim
