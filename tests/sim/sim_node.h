#pragma once
// SimNode: one simulated server — a RawNode over a MemoryStorage that holds only what was fsynced
// (the durable part), the Ready being persisted (the unsynced part, lost on crash), and a toy
// state machine (index -> command) that snapshots and restores. Like Cairn's state store, the
// state machine may survive a crash ahead of the latest snapshot (a kill -9) or not (it is then
// rebuilt from the snapshot, as after a power loss).

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/base/random.h"
#include "core/raft/memory_storage.h"
#include "core/raft/raw_node.h"

namespace cairn::sim {

struct SimRaftParams {
  int election_tick = 10;
  int heartbeat_tick = 2;
  uint64_t max_entries_per_msg = 4;
  uint64_t max_size_per_msg = 256;
  uint64_t max_inflight_msgs = 4;
  uint64_t snapshot_chunk_bytes = 128;
  int lease_ticks = 9;
  bool pre_vote = true;
  bool check_quorum = true;
};

class SimNode {
 public:
  SimNode(uint64_t id, raft::ConfState bootstrap, uint64_t seed, SimRaftParams params);

  uint64_t id() const { return id_; }
  bool alive() const { return alive_; }
  raft::RawNode& raw() { return *raw_; }
  const raft::RawNode& raw() const { return *raw_; }
  const raft::MemoryStorage& durable() const { return durable_; }
  uint64_t generation() const { return generation_; }

  // Loses everything not fsynced: the pending Ready, the in-memory raft state, and the state
  // machine unless `state_survives`.
  void crash(bool state_survives);
  // Rebuilds raft and the state machine from the durable part.
  void restart();

  // A ReadIndex context, as RaftNode makes them: a counter that restarts with the process,
  // prefixed by the incarnation, since a leader may answer a previous incarnation's request.
  std::string nextReadContext() {
    return "r" + std::to_string(generation_) + "-" + std::to_string(++read_seq_);
  }

  // The Ready being persisted (the unsynced part), if any.
  std::optional<raft::Ready>& pending() { return pending_; }
  // Writes a Ready to the durable part (its simulated fsync completed).
  void persist(const raft::Ready& rd);

  // --- the state machine ---
  // Applies a committed entry; returns the command for normal entries with data.
  void applyEntry(const raft::Entry& e);
  void restoreSnapshot(const raft::Snapshot& snap);
  uint64_t appliedIndex() const { return applied_index_; }
  const std::map<uint64_t, std::string>& stateMachine() const { return sm_; }
  // Takes a snapshot at the applied index and compacts the log, keeping `keep` entries.
  bool snapshotAndCompact(uint64_t keep);

  static std::string encodeState(const std::map<uint64_t, std::string>& sm);
  static std::map<uint64_t, std::string> decodeState(const std::string& data);

 private:
  void build();

  uint64_t id_;
  SimRaftParams params_;
  SeededRandom rng_;
  raft::MemoryStorage durable_;
  std::unique_ptr<raft::RawNode> raw_;
  std::optional<raft::Ready> pending_;
  bool alive_ = true;
  uint64_t generation_ = 0;
  std::map<uint64_t, std::string> sm_;
  uint64_t applied_index_ = 0;
  raft::ConfState applied_conf_;
  bool state_survives_ = false;
  uint64_t read_seq_ = 0;  // reset by restart(), like a process's memory
};

}  // namespace cairn::sim
