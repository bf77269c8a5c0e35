#pragma once
// The read options every Consul query endpoint takes: consistency mode and blocking parameters.

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/base/duration.h"
#include "core/base/status.h"
#include "core/http/query.h"
#include "core/node/node.h"

namespace cairn::http {

struct QueryOptions {
  node::ReadMode mode = node::ReadMode::kDefault;
  bool blocking = false;  // index=N with N > 0
  uint64_t min_index = 0;
  Nanos wait{0};  // clamped to (0, 10 min]; 5 min when absent or not positive
  // Set by endpoints whose index is not a counter (event list: a hash of the last event's ID):
  // a blocking query returns once the index DIFFERS from min_index, not once it exceeds it.
  bool until_index_differs = false;
};

inline constexpr Nanos kDefaultBlockingWait = std::chrono::minutes(5);
inline constexpr Nanos kMaxBlockingWait = std::chrono::minutes(10);

// Errors (kInvalidArgument) carry Consul's exact texts: "Invalid index", "Invalid wait time",
// "Cannot specify ?stale with ?consistent, conflicting semantics.".
StatusOr<QueryOptions> parseQueryOptions(const QueryParams& query);

// Strict unsigned decimal (no sign, no spaces, no overflow).
std::optional<uint64_t> parseUint64(std::string_view text);

}  // namespace cairn::http
