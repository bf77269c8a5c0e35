#pragma once
// RawNode: the public face of core/raft — the Raft state machine plus the Ready hand-off that
// tells the application what to persist, send and apply. Single-threaded: the application drives
// it from one thread (node/'s Ready loop, or the simulator).
//
// THE READY CONTRACT (docs/raft.md has the full version). For each Ready rd = ready():
//   0. rd.early_messages MAY be sent at once, before or while step 1 runs.
//   1. Persist rd.snapshot (if any), then rd.entries (discarding any stored entries at or after
//      the first one's index), then rd.hard_state (if any) — and fsync. Atomically, or in that
//      order; a crash in the middle must not leave a hard state whose commit index exceeds the
//      durable log.
//   2. Send rd.messages (only now: votes and append acknowledgements promise durability).
//   3. Restore rd.snapshot into the state machine, then apply rd.committed_entries in order;
//      answer rd.read_states once applied index >= their index.
//   4. advance(rd).
// At most one Ready is outstanding: hasReady() is false until it is advanced. step(), tick() and
// the proposal calls may be made between ready() and advance() (their effects go into the next
// Ready).
//
// Which messages are early: AppendEntries, heartbeats, snapshot chunks and TimeoutNow sent by a
// leader whose term was already durable before this Ready (thesis §10.2.1: the leader's own fsync
// may overlap replication; it counts itself towards a commit majority only after advance()).
// Everything else — vote and pre-vote responses, append/heartbeat/snapshot acknowledgements,
// vote requests (which need the new term and self-vote durable), read-index traffic — waits.

#include <memory>
#include <optional>
#include <vector>

#include "core/raft/raft.h"

namespace cairn::raft {

struct Ready {
  std::optional<SoftState> soft_state;   // changed leader or role; informational
  std::optional<HardState> hard_state;   // changed term/vote/commit: persist
  std::optional<Snapshot> snapshot;      // received from the leader: persist, then restore
  std::vector<Entry> entries;            // append to the durable log
  std::vector<Message> early_messages;   // may leave before persistence
  std::vector<Message> messages;         // leave only after persistence
  std::vector<Entry> committed_entries;  // apply after persistence, in order
  std::vector<ReadState> read_states;    // linearizable reads that became answerable
  // Whether step 1 needs an fsync (false when only the commit index or nothing durable changed).
  bool must_sync = false;
};

class RawNode {
 public:
  // Restores from config.storage (hard state, snapshot, durable log).
  static StatusOr<std::unique_ptr<RawNode>> create(const Config& config);

  void tick() { raft_.tick(); }
  Status step(const Message& m) { return raft_.step(m); }
  // Leader only. The entry committed as proposed iff the entry applied at the returned index has
  // the returned term.
  StatusOr<ProposalId> propose(std::string data) { return raft_.propose(std::move(data)); }
  StatusOr<ProposalId> proposeConfChange(const ConfChange& cc) {
    return raft_.proposeConfChange(cc);
  }
  // Asks for a read index; the answer comes as a ReadState with the same context in a later
  // Ready. May be dropped if leadership changes: the caller retries after a timeout.
  Status readIndex(std::string context) { return raft_.readIndex(std::move(context)); }
  // The index a lease read may be served at (once applied), if the leader's lease is valid now.
  std::optional<uint64_t> leaseReadIndex() const { return raft_.leaseReadIndex(); }
  Status transferLeadership(uint64_t to) { return raft_.transferLeadership(to); }
  void campaign() { raft_.campaignNow(); }

  bool hasReady() const;
  Ready ready();
  void advance(const Ready& rd);

  // Read-only introspection (status pages, tests, the simulator's invariant checks).
  const Raft& raft() const { return raft_; }

 private:
  explicit RawNode(const Config& config);

  Raft raft_;
  SoftState prev_soft_;
  HardState prev_hard_;    // the last hard state handed out
  uint64_t durable_term_;  // the term of the last hard state reported durable
  bool outstanding_ = false;
};

}  // namespace cairn::raft
