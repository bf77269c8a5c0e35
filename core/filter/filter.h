#pragma once
// Consul's `?filter=` expressions (hashicorp/go-bexpr syntax) over result elements as JSON.
// See docs/filtering.md for the grammar, the coercion rules and the missing-field rule.
//
//   auto filter = Filter::parse(R"(Service.Meta.env == "prod" and "web" in Service.Tags)");
//   if (!filter.isOk()) -> 400 with kEvaluatorErrorPrefix + filter.status().message()
//   for each element: if (filter->matches(element)) keep it;
//
// A Filter is immutable: copies share the parsed tree, and matches() may be called from any
// number of threads at once.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <memory>
#include <string_view>

#include "core/base/status.h"

namespace cairn::filter {

namespace internal {
struct Node;
}  // namespace internal

// What Consul puts before the parser's message when a filter does not parse.
inline constexpr std::string_view kEvaluatorErrorPrefix =
    "Failed to create boolean expression evaluator: ";

class Filter {
 public:
  // Parses a go-bexpr expression (at most 8 KiB, parentheses nested at most 64 deep; regular
  // expressions are compiled here). Errors: kInvalidArgument, message "<line>:<col> (<offset>):
  // <what>" for syntax errors. An empty or blank expression is an error: callers treat an absent
  // or empty `filter` parameter as "no filter", as Consul does, and do not call parse().
  static StatusOr<Filter> parse(std::string_view expression);

  // True when `element` (one result element, e.g. a ServiceEntry object) matches. Never throws;
  // cost is linear in the expression size times the size of the fields it looks at.
  bool matches(const web::json::value& element) const;

 private:
  explicit Filter(std::shared_ptr<const internal::Node> root) : root_(std::move(root)) {}

  std::shared_ptr<const internal::Node> root_;  // never null
};

}  // namespace cairn::filter
