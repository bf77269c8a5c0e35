#pragma once
// The parse tree of a template (Go text/template's, reduced to what Cairn executes). Built by
// parser.cc, walked by render.cc. Every node keeps the line:column it starts at, for errors.

#include <memory>
#include <string>
#include <vector>

#include "core/template/value.h"

namespace cairn::tmpl {

// 1-based; columns count bytes.
struct Pos {
  int line = 1;
  int column = 1;
};

struct Pipeline;

// One argument of a command: a literal, `.`, a field chain on dot (`.A.B`), a variable with an
// optional field chain (`$x.A`), a function name, or a parenthesised pipeline with an optional
// field chain (`(index $l 0).Name`).
struct Operand {
  enum class Kind { kLiteral, kDot, kField, kVariable, kFunction, kPipeline };
  Kind kind = Kind::kLiteral;
  Pos pos;
  std::string name;                  // kVariable ("$x", "$"), kFunction
  Value literal;                     // kLiteral
  std::vector<std::string> fields;   // the chain after the operand (kField: at least one)
  std::shared_ptr<Pipeline> nested;  // kPipeline
};

// `f a b` or a single operand.
struct Command {
  Pos pos;
  std::vector<Operand> args;
};

// `$x := cmd | cmd`: each command after the first gets the previous result as its last argument.
struct Pipeline {
  Pos pos;
  std::vector<std::string> decl;  // variables declared or assigned
  bool assign = false;            // `=` rather than `:=`
  std::vector<Command> cmds;
};

struct Node;
using NodeList = std::vector<Node>;

struct Node {
  enum class Kind { kText, kAction, kIf, kRange, kWith, kBreak, kContinue };
  Kind kind = Kind::kText;
  Pos pos;
  std::string text;  // kText
  Pipeline pipe;     // kAction, kIf, kRange, kWith
  NodeList body;
  NodeList else_body;  // `else if` / `else with` hold one kIf / kWith node here
};

}  // namespace cairn::tmpl
