#pragma once
// Config: everything a Raft instance is built from. Time is counted in ticks (the application
// calls tick() at a fixed interval, e.g. every 100 ms); randomness is injected.

#include <cstdint>

#include "core/base/random.h"
#include "core/base/status.h"
#include "core/raft/storage.h"

namespace cairn::raft {

struct Config {
  uint64_t id = kNone;  // this node, non-zero
  // A follower that hears no leader for a random number of ticks in [election_tick,
  // 2 * election_tick) starts an election (thesis §3.4). Must exceed heartbeat_tick.
  int election_tick = 10;
  int heartbeat_tick = 1;
  const Storage* storage = nullptr;  // not owned; outlives the RawNode
  Random* random = nullptr;          // not owned; outlives the RawNode
  // The index the application has applied up to (restart). Committed entries above it are
  // handed out again.
  uint64_t applied = 0;

  // Batching: one AppendEntries carries at most this many entries / bytes (at least one entry).
  uint64_t max_size_per_msg = 1 << 20;
  uint64_t max_entries_per_msg = 512;
  // Pipelining: AppendEntries in flight per follower in kReplicate, by count and by bytes.
  uint64_t max_inflight_msgs = 64;
  uint64_t max_inflight_bytes = 32 << 20;
  // Bound on the committed entries handed out by one Ready.
  uint64_t max_committed_size_per_ready = 16 << 20;

  bool pre_vote = true;      // thesis §9.6
  bool check_quorum = true;  // thesis §6.2: a leader steps down without an active quorum;
                             // followers ignore votes while they hear from a leader (§4.2.3).
  // Leader lease length in ticks, counted from when the heartbeat a quorum acknowledged was sent.
  // 0 disables lease reads. Requires check_quorum and must be < election_tick: the difference is
  // the margin for clock drift between servers during one election timeout.
  int lease_ticks = 0;
  // InstallSnapshot chunk size (thesis §5.3 sends the snapshot in chunks).
  uint64_t snapshot_chunk_bytes = 1 << 20;
  // The leader proposes promoting a learner to voter once it has caught up (match >= commit).
  bool auto_promote_learners = false;

  Status validate() const;
};

}  // namespace cairn::raft
