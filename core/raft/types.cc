#include "core/raft/types.h"

namespace cairn::raft {

bool isEmptyHardState(const HardState& hs) {
  return hs.term() == 0 && hs.vote() == kNone && hs.commit() == 0;
}

bool hardStateEqual(const HardState& a, const HardState& b) {
  return a.term() == b.term() && a.vote() == b.vote() && a.commit() == b.commit();
}

uint64_t entrySize(const Entry& e) { return e.data().size() + 24; }

}  // namespace cairn::raft
