#pragma once
// The -node/-service/-tag filters of `cairn event` and `cairn exec` (both fire user events):
// consul's client-side checks and texts. Defined in event.cc.

#include <string>

namespace cairn::cli {

// Empty when the filters are usable, else consul's message (a regexp that does not compile, a
// tag filter without a service filter).
std::string eventFilterProblem(const std::string& node, const std::string& service,
                               const std::string& tag);

}  // namespace cairn::cli
