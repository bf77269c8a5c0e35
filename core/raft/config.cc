#include "core/raft/config.h"

namespace cairn::raft {

Status Config::validate() const {
  if (id == kNone) return invalidArgument("raft: id must be non-zero");
  if (heartbeat_tick <= 0) return invalidArgument("raft: heartbeat_tick must be > 0");
  if (election_tick <= heartbeat_tick) {
    return invalidArgument("raft: election_tick must exceed heartbeat_tick");
  }
  if (storage == nullptr) return invalidArgument("raft: storage is required");
  if (random == nullptr) return invalidArgument("raft: random is required");
  if (max_inflight_msgs == 0) return invalidArgument("raft: max_inflight_msgs must be > 0");
  if (max_entries_per_msg == 0) return invalidArgument("raft: max_entries_per_msg must be > 0");
  if (snapshot_chunk_bytes == 0) return invalidArgument("raft: snapshot_chunk_bytes must be > 0");
  if (lease_ticks < 0 || lease_ticks >= election_tick) {
    return invalidArgument("raft: lease_ticks must be in [0, election_tick)");
  }
  if (lease_ticks > 0 && !check_quorum) {
    return invalidArgument("raft: lease reads require check_quorum");
  }
  return Status::ok();
}

}  // namespace cairn::raft
