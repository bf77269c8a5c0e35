#pragma once
// The parsed form of a filter expression (internal to core/filter). Immutable once built, so one
// tree may be evaluated from any number of threads at once (RE2 matching is thread-safe).

#include <re2/re2.h>

#include <memory>
#include <string>
#include <vector>

namespace cairn::filter::internal {

// The positive operators; `not in`, `not contains`, `is not empty`, `!=` and `not matches` are
// these with Match::negated set. `contains` is `in` with the operands written the other way.
enum class MatchOp { kEqual, kIn, kIsEmpty, kMatches };

struct Match {
  std::vector<std::string> selector;  // path from the element: object keys or array indexes
  MatchOp op = MatchOp::kEqual;
  bool negated = false;
  std::string value;                      // the raw literal; empty for is [not] empty
  std::shared_ptr<const re2::RE2> regex;  // set for kMatches only
};

struct Node {
  enum class Kind { kAnd, kOr, kNot, kMatch };
  Kind kind = Kind::kMatch;
  std::vector<Node> children;  // kAnd / kOr: two or more; kNot: exactly one
  Match match;                 // kMatch only
};

}  // namespace cairn::filter::internal
