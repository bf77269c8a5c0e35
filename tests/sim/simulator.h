#pragma once
// Simulator: a deterministic discrete-event simulation of a Raft cluster. One seed drives every
// choice (network delays, drops, duplicates, partitions, crashes, fsync latency, client traffic,
// membership changes, election timeouts), so a failing seed replays exactly.
//
// A run has two phases: `chaos` (faults on), then `heal` (network repaired, every node restarted)
// during which liveness must hold: a leader is elected and a fresh proposal commits and applies on
// every member within a bounded number of ticks. Safety invariants (Checker) run after every
// event of both phases.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "tests/sim/invariants.h"
#include "tests/sim/sim_node.h"

namespace cairn::sim {

struct SimOptions {
  uint64_t seed = 1;
  int voters = 3;  // initial voters (ids 1..voters)
  int spares = 1;  // extra nodes that membership changes may add (learner -> voter)
  int chaos_ticks = 300;
  int liveness_ticks = 200;  // bound for the heal phase
  size_t trace_lines = 60;   // events kept for the failure report
  bool verbose = false;      // print every traced event as it happens (replay)
  SimRaftParams raft;
};

struct SimResult {
  bool ok = true;
  std::string failure;
  std::string trace;  // the last events, oldest first
  uint64_t events = 0;
  uint64_t committed = 0;
  uint64_t acked = 0;
  uint64_t leaders = 0;
  uint64_t reads = 0;
};

// Picks a SimOptions for a seed: cluster size 3 or 5 and fault rates vary by seed.
SimOptions optionsForSeed(uint64_t seed);

class Simulator {
 public:
  explicit Simulator(SimOptions opts);
  SimResult run();

 private:
  enum class EventKind { kTick, kDeliver, kFsync, kChaos };
  struct Event {
    uint64_t time;
    uint64_t seq;
    EventKind kind;
    uint64_t node;
    uint64_t generation;  // kFsync: the node incarnation that started it
    uint32_t msg_slot;    // kDeliver: index into msg_pool_ (messages stay put while queued)
    bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  struct PendingRead {
    uint64_t node;
    uint64_t max_committed_at_request;
  };
  struct Proposal {
    uint64_t node;
    raft::ProposalId id;
    std::string cmd;
  };

  // event loop (simulator.cc)
  void schedule(uint64_t at, EventKind kind, uint64_t node, uint64_t generation = 0);
  void scheduleDelivery(uint64_t at, const raft::Message& m);
  bool runUntil(uint64_t end_time, const std::function<bool()>& done);
  void dispatch(Event& ev);
  void processReady(SimNode& n);
  void finishFsync(SimNode& n);
  void send(SimNode& from, const raft::Message& m);
  void deliver(const raft::Message& m);
  void trace(std::string line);
  void traceMsg(const char* what, const raft::Message& m);
  std::string renderTrace() const;
  SimNode& node(uint64_t id) { return *nodes_.at(id - 1); }
  const std::vector<SimNode*>& all() const { return all_; }
  std::set<uint64_t> members() const;
  SimNode* leader();

  // faults and client traffic (sim_chaos.cc)
  void chaosStep();
  void maybeCrashOrRestart();
  void maybePartition();
  void clientPropose();
  void clientRead();
  void clientLeaseRead();
  void maybeTransfer();
  void maybeConfChange();
  void maybeSnapshot();
  void heal();
  bool livenessProbe();
  bool converged();

  SimOptions opts_;
  SeededRandom rng_;
  Checker checker_;
  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::vector<SimNode*> all_;
  std::vector<raft::Message> msg_pool_;
  std::vector<uint32_t> free_slots_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  bool chaos_ = true;
  struct TraceRec {
    uint64_t time = 0;
    std::string text;
    bool has_msg = false;
    raft::Message msg;
  };
  std::vector<TraceRec> trace_;  // ring buffer of opts_.trace_lines records
  uint64_t trace_next_ = 0;
  SimResult result_;

  // fault model, chosen per seed
  int drop_pct_ = 0;
  int dup_pct_ = 0;
  uint64_t max_delay_ = 10;
  std::set<std::pair<uint64_t, uint64_t>> cut_;  // directed links that drop everything
  uint64_t partition_until_ = 0;
  std::map<uint64_t, uint64_t> restart_at_;  // crashed node -> time it comes back

  uint64_t next_cmd_ = 1;
  std::map<uint64_t, Proposal> proposals_;  // by index
  std::optional<Proposal> probe_;
  uint64_t probe_seq_ = 0;
  std::map<std::string, PendingRead> reads_;
};

}  // namespace cairn::sim
