#pragma once
// Progress: the leader's view of one peer's log (etcd's replication flow control).
//
//   kProbe      we do not know where the follower's log matches: send one AppendEntries and wait
//               for the answer (or the next heartbeat round) before sending another.
//   kReplicate  the follower's log matches up to `match`: stream entries optimistically, several
//               messages in flight, bounded by `inflights`.
//   kSnapshot   the entries the follower needs are compacted: stream the snapshot in chunks, then
//               probe from the snapshot index.

#include <cstdint>
#include <string>

#include "core/raft/inflights.h"

namespace cairn::raft {

enum class ProgressState { kProbe, kReplicate, kSnapshot };

const char* progressStateName(ProgressState s);

struct Progress {
  Progress(uint64_t next_index, size_t max_inflight, uint64_t max_inflight_bytes, bool learner)
      : next(next_index), inflights(max_inflight, max_inflight_bytes), is_learner(learner) {}

  void becomeProbe();
  void becomeReplicate();
  void becomeSnapshot(uint64_t snapshot_index);
  // An acknowledgement of `n`: returns false if it is stale (n <= match).
  bool maybeUpdate(uint64_t n);
  // Optimistic advance after sending entries up to `last` (kReplicate only).
  void optimisticUpdate(uint64_t last) { next = last + 1; }
  // A rejection of the append at `rejected`, with the follower's hint of where it may match.
  // Returns false if the rejection is stale.
  bool maybeDecrTo(uint64_t rejected, uint64_t match_hint);
  // Whether the leader must hold back AppendEntries to this peer.
  bool isPaused() const;
  void sentProbe() { probe_sent = true; }

  std::string describe() const;

  uint64_t match = 0;
  uint64_t next;
  ProgressState state = ProgressState::kProbe;
  bool probe_sent = false;        // kProbe: an append is outstanding
  uint64_t pending_snapshot = 0;  // kSnapshot: the index of the snapshot being sent
  uint64_t snap_offset = 0;       // kSnapshot: next chunk's byte offset
  bool snap_chunk_inflight = false;
  int snap_stalled_rounds = 0;  // heartbeat rounds without a chunk acknowledgement
  Inflights inflights;
  bool recent_active = false;  // heard from in the current check-quorum window
  bool is_learner;
  uint64_t read_ack_seq = 0;    // highest ReadIndex round acknowledged in this term
  uint64_t lease_ack_tick = 0;  // leader tick at which the newest acknowledged heartbeat left
  bool has_lease_ack = false;
};

}  // namespace cairn::raft
