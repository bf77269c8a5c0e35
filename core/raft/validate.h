#pragma once
// Structural validation of messages from the network (untrusted): a malformed message is
// rejected with an error instead of tripping a CHECK deeper in raft.

#include "core/base/status.h"
#include "core/raft/types.h"

namespace cairn::raft {

// Checks the message is addressed to `self`, comes from a node id, has a known type and that its
// entries are contiguous, follow m.index() and carry terms in [m.log_term(), m.term()].
Status validateMessage(const Message& m, uint64_t self);

}  // namespace cairn::raft
