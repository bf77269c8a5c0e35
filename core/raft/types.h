#pragma once
// Basic vocabulary of core/raft: the proto types under short names, node states and read states.
// Nothing here allocates threads, touches files or reads clocks.

#include <cstdint>
#include <string>

#include "cairn/v1/raft.pb.h"

namespace cairn::raft {

using Entry = v1::RaftEntry;
using Message = v1::RaftMessage;
using MessageType = v1::RaftMessageType;
using HardState = v1::HardState;
using ConfState = v1::ConfState;
using ConfChange = v1::RaftConfChange;
using Snapshot = v1::RaftSnapshot;
using SnapshotMetadata = v1::SnapshotMetadata;

// Node ids are non-zero; 0 means "none" (no leader, no vote).
inline constexpr uint64_t kNone = 0;

enum class StateType { kFollower, kPreCandidate, kCandidate, kLeader };

const char* stateName(StateType s);

// Volatile state reported to the application for information (who leads, in which role).
struct SoftState {
  uint64_t lead = kNone;
  StateType state = StateType::kFollower;
  bool operator==(const SoftState&) const = default;
};

// A linearizable read is allowed once the application has applied up to `index`.
// `context` is the opaque request id given to readIndex().
struct ReadState {
  uint64_t index = 0;
  std::string context;
};

// Where a proposal landed: it committed as proposed iff the entry applied at `index` has `term`.
struct ProposalId {
  uint64_t index = 0;
  uint64_t term = 0;
};

bool isEmptyHardState(const HardState& hs);
bool hardStateEqual(const HardState& a, const HardState& b);
uint64_t entrySize(const Entry& e);

}  // namespace cairn::raft
