#pragma once
// Single-server membership changes (thesis §4.1) as pure functions, shared by raft (which applies
// them when a configuration entry is appended) and the application (which tracks the membership
// at its applied index to attach it to snapshots).

#include "core/base/status.h"
#include "core/raft/types.h"

namespace cairn::raft {

// The configuration after `cc`. Errors: the change is a no-op, would leave no voter, or would
// change more than one voter at a time.
StatusOr<ConfState> applyConfChange(const ConfState& cs, const ConfChange& cc);

// Decodes the data of an ENTRY_CONF_CHANGE entry; conf_after() is the membership it installs.
StatusOr<ConfChange> decodeConfChange(const Entry& e);

}  // namespace cairn::raft
