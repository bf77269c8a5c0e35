#pragma once
// One-line human-readable renderings for traces and test failures.

#include <string>

#include "core/raft/types.h"

namespace cairn::raft {

const char* messageTypeName(MessageType t);
// "added learner", "added voter", "removed": a configuration change as a past-tense verb.
const char* confChangeVerb(v1::ConfChangeType t);
std::string describeMessage(const Message& m);
std::string describeEntry(const Entry& e);
std::string describeHardState(const HardState& hs);
std::string describeConfState(const ConfState& cs);

}  // namespace cairn::raft
