#pragma once
// Parser for go-bexpr expressions (see docs/filtering.md for the grammar accepted).

#include <string_view>

#include "core/base/status.h"
#include "core/filter/ast.h"

namespace cairn::filter::internal {

inline constexpr size_t kMaxExpressionBytes = 8192;
inline constexpr int kMaxNestingDepth = 64;
// RE2 memory budget of one `matches` pattern (program + DFA cache; RE2 falls back to its
// linear-time NFA when the cache is full), and how many patterns one expression may hold.
inline constexpr int64_t kMaxRegexMemoryBytes = 256 << 10;
inline constexpr int kMaxRegexes = 32;

// Parses `expression` into a tree. Errors are kInvalidArgument with a message of the form
// "<line>:<column> (<offset>): <what is wrong>" (offsets in bytes, as go-bexpr's parser reports).
StatusOr<Node> parseExpression(std::string_view expression);

}  // namespace cairn::filter::internal
