// Snapshots (thesis chapter 5): a follower whose next entry is compacted away receives the
// leader's latest snapshot as a stream of chunks (§5.3), one chunk in flight at a time; the last
// chunk replaces its log. Chunks are held in memory until the last one arrives; a follower that
// restarts mid-transfer makes the leader start over (it rejects with offset 0).

#include <algorithm>

#include "core/base/check.h"
#include "core/raft/raft.h"

namespace cairn::raft {

namespace {
constexpr int kSnapshotStallRounds = 3;  // heartbeat rounds before a chunk is re-sent
}

bool Raft::sendSnapshot(uint64_t to, Progress& pr) {
  if (!pr.recent_active) return false;  // do not stream to a peer that seems down
  if (!snap_out_ || snap_out_->metadata().index() < log_.firstIndex() - 1) {
    StatusOr<Snapshot> snap = log_.storage().snapshot();
    if (!snap.isOk()) return false;  // the application is still producing one: retry later
    CHECK_MSG(snap->metadata().index() != 0, "need a snapshot but none exists");
    snap_out_ = std::make_shared<const Snapshot>(std::move(*snap));
  }
  pr.becomeSnapshot(snap_out_->metadata().index());
  sendSnapshotChunk(to, pr);
  return true;
}

void Raft::sendSnapshotChunk(uint64_t to, Progress& pr) {
  if (!snap_out_ || snap_out_->metadata().index() != pr.pending_snapshot) {
    pr.becomeProbe();  // the snapshot we were sending is gone; probe again
    return;
  }
  const std::string& data = snap_out_->data();
  uint64_t offset = std::min<uint64_t>(pr.snap_offset, data.size());
  uint64_t len = std::min<uint64_t>(cfg_.snapshot_chunk_bytes, data.size() - offset);
  Message m;
  m.set_to(to);
  m.set_type(v1::MSG_SNAP);
  *m.mutable_snapshot()->mutable_metadata() = snap_out_->metadata();
  m.mutable_snapshot()->set_data(data.substr(offset, len));
  m.set_snap_offset(offset);
  m.set_snap_done(offset + len == data.size());
  pr.snap_chunk_inflight = true;
  pr.snap_stalled_rounds = 0;
  send(std::move(m));
}

// Re-sends a chunk whose acknowledgement did not come within a few heartbeat rounds.
void Raft::tickSnapshotSenders() {
  for (auto& [id, pr] : tracker_.all()) {
    if (id == id_ || pr.state != ProgressState::kSnapshot) continue;
    if (pr.snap_chunk_inflight && ++pr.snap_stalled_rounds < kSnapshotStallRounds) continue;
    sendSnapshotChunk(id, pr);
  }
}

void Raft::handleSnapshot(const Message& m) {
  const SnapshotMetadata& md = m.snapshot().metadata();
  if (md.index() <= log_.committed()) {
    // We already have it (e.g. a re-sent last chunk): report where we are.
    Message resp;
    resp.set_to(m.from());
    resp.set_type(v1::MSG_APP_RESP);
    resp.set_index(log_.committed());
    send(std::move(resp));
    return;
  }
  bool same =
      snap_in_meta_ && snap_in_meta_->index() == md.index() && snap_in_meta_->term() == md.term();
  if (m.snap_offset() == 0) {
    snap_in_meta_ = md;
    snap_in_data_.clear();
  } else if (!same || m.snap_offset() != snap_in_data_.size()) {
    Message resp;
    resp.set_to(m.from());
    resp.set_type(v1::MSG_SNAP_RESP);
    resp.set_index(md.index());
    resp.set_reject(true);
    resp.set_snap_offset(same ? snap_in_data_.size() : 0);
    send(std::move(resp));
    return;
  }
  snap_in_data_ += m.snapshot().data();
  if (!m.snap_done()) {
    Message resp;
    resp.set_to(m.from());
    resp.set_type(v1::MSG_SNAP_RESP);
    resp.set_index(md.index());
    resp.set_snap_offset(snap_in_data_.size());
    send(std::move(resp));
    return;
  }
  Snapshot snap;
  *snap.mutable_metadata() = *snap_in_meta_;
  snap.set_data(std::move(snap_in_data_));
  snap_in_meta_.reset();
  snap_in_data_.clear();
  bool replaced = restore(snap);
  Message resp;
  resp.set_to(m.from());
  resp.set_type(v1::MSG_APP_RESP);
  // Leaves only once the snapshot is durable. Without a restore, only the committed prefix is
  // known to match the leader.
  resp.set_index(replaced ? log_.lastIndex() : log_.committed());
  send(std::move(resp));
}

void Raft::handleSnapshotResponse(const Message& m) {
  Progress* pr = tracker_.progress(m.from());
  pr->recent_active = true;
  if (pr->state != ProgressState::kSnapshot || m.index() != pr->pending_snapshot) return;
  if (!m.reject() && m.snap_offset() <= pr->snap_offset) return;  // stale or duplicate
  pr->snap_offset = m.snap_offset();
  sendSnapshotChunk(m.from(), *pr);
}

// Returns whether the log was replaced (false: the snapshot was old or our log already had it).
bool Raft::restore(const Snapshot& snap) {
  const SnapshotMetadata& md = snap.metadata();
  if (md.index() <= log_.committed()) return false;
  if (log_.matchTerm(md.index(), md.term())) {
    log_.commitTo(md.index());  // our log already contains it: just fast-forward
    return false;
  }
  dropAcksFrom(md.index() + 1);
  log_.restore(snap);
  base_conf_ = md.conf_state();
  conf_history_.clear();
  applyConfState(base_conf_);
  return true;
}

void Raft::onSnapshotDurable(uint64_t index) { log_.stableSnapTo(index); }

}  // namespace cairn::raft
