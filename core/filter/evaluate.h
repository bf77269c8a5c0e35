#pragma once
// Evaluating a parsed filter against one result element (untyped JSON). The rules are in
// docs/filtering.md: literals are coerced to the JSON type of the field they meet, a missing or
// null field follows go-bexpr's "not present" disposition, and an operator that does not apply to
// the field's type is false (its negated form true). Never throws: types are checked before any
// cpprest accessor is used.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include "core/filter/ast.h"

namespace cairn::filter::internal {

bool evaluate(const Node& node, const web::json::value& element);

}  // namespace cairn::filter::internal
