#pragma once
// The parser of Go text/template's syntax as consul-template users write it: text and `{{ }}`
// actions with `{{-` / `-}}` trim markers, comments, pipelines, variables, if / else if / else,
// range (with `$i, $e :=` and else), with / else, break, continue. `define`, `template` and
// `block` are refused with a clear error. docs/template.md lists the syntax.
//
// Threading: pure functions.

#include <string_view>

#include "core/base/status.h"
#include "core/template/ast.h"

namespace cairn::tmpl {

// Nesting (blocks and parentheses) beyond this is refused, which bounds the parser's and the
// renderer's recursion.
inline constexpr int kMaxTemplateDepth = 100;

// Parses `text`. Errors read "<name>:<line>:<column>: <what>".
StatusOr<NodeList> parseTemplate(std::string_view text, std::string_view name);

}  // namespace cairn::tmpl
