#include "core/raft/progress.h"

#include <algorithm>
#include <sstream>

namespace cairn::raft {

const char* progressStateName(ProgressState s) {
  switch (s) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "?";
}

static void resetState(Progress& p, ProgressState s) {
  p.probe_sent = false;
  p.pending_snapshot = 0;
  p.snap_offset = 0;
  p.snap_chunk_inflight = false;
  p.snap_stalled_rounds = 0;
  p.state = s;
  p.inflights.reset();
}

void Progress::becomeProbe() {
  // Coming back from a snapshot, the follower has at least the snapshot's entries.
  if (state == ProgressState::kSnapshot) {
    uint64_t pending = pending_snapshot;
    resetState(*this, ProgressState::kProbe);
    next = std::max(match + 1, pending + 1);
  } else {
    resetState(*this, ProgressState::kProbe);
    next = match + 1;
  }
}

void Progress::becomeReplicate() {
  resetState(*this, ProgressState::kReplicate);
  next = match + 1;
}

void Progress::becomeSnapshot(uint64_t snapshot_index) {
  resetState(*this, ProgressState::kSnapshot);
  pending_snapshot = snapshot_index;
}

bool Progress::maybeUpdate(uint64_t n) {
  bool updated = false;
  if (match < n) {
    match = n;
    updated = true;
    probe_sent = false;
  }
  next = std::max(next, n + 1);
  return updated;
}

bool Progress::maybeDecrTo(uint64_t rejected, uint64_t match_hint) {
  if (state == ProgressState::kReplicate) {
    // Stale if the rejected append is at or below what we know matches.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // kProbe (or kSnapshot): only the last probe (at next-1) counts.
  if (next == 0 || next - 1 != rejected) return false;
  next = std::max(std::min(rejected, match_hint + 1), match + 1);
  probe_sent = false;
  return true;
}

bool Progress::isPaused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string Progress::describe() const {
  std::ostringstream os;
  os << progressStateName(state) << " match=" << match << " next=" << next;
  if (is_learner) os << " learner";
  if (state == ProgressState::kSnapshot) os << " snap=" << pending_snapshot << "@" << snap_offset;
  if (inflights.count() > 0) os << " inflight=" << inflights.count();
  return os.str();
}

}  // namespace cairn::raft
