#pragma once
// HCL (version 1, the dialect Consul reads for ACL rules and configuration files) parsed into a
// small value tree. One parser for the project: ACL rules (core/acl) and config files use it.
// docs/hcl.md lists the syntax accepted.
//
// The tree keeps what was written, in source order, with a line:column on every node:
//  - `a = v` is an object entry a → v;
//  - a block `a "b" "c" { body }` is the nested entry a → { b → { c → {body} } }, exactly as
//    `a = { b = { c = { ... } } }` would be (HCL1's own representation of labels);
//  - a key written twice gives two entries (nothing is merged or dropped at parse time).
// Decoders then use Value::find (the last value written for a key, as HCL1's decoder keeps for an
// attribute) or Value::blocks (every value for a key, lists of objects flattened: how Consul's
// decoder collects repeated blocks such as `service "a" {}` `service "b" {}`).
//
// JSON is accepted too: a document whose first token is `{` is one object in which `:` may stand
// for `=` and members are separated by commas. JSON objects give the same tree as the equivalent
// HCL, so one decoder reads both forms.
//
// Threading: pure functions over immutable values.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace cairn::hcl {

// 1-based; columns count bytes.
struct Position {
  int line = 0;
  int column = 0;
};

enum class Kind { kNull, kBool, kNumber, kString, kList, kObject };

// "null", "bool", "number", "string", "list", "object": for decoders' error messages.
const char* kindName(Kind kind);

struct Entry;

struct Value {
  Kind kind = Kind::kNull;
  Position pos;
  bool boolean = false;
  // kNumber: `text` is the literal as written, `number` its value; `is_integer` when it has no
  // fraction or exponent and fits `integer`.
  double number = 0;
  int64_t integer = 0;
  bool is_integer = false;
  std::string text;            // kString: the decoded string; kNumber: the literal
  std::vector<Value> items;    // kList
  std::vector<Entry> entries;  // kObject, in source order, repeated keys kept

  // The last value written for `key` in this object, or nullptr (also when not an object).
  const Value* find(std::string_view key) const;
  // Every value written for `key`, in source order; a value that is a list contributes its items
  // instead (so `k = [{...}, {...}]`, a JSON array and repeated `k {...}` blocks read the same).
  std::vector<const Value*> blocks(std::string_view key) const;
};

struct Entry {
  std::string key;
  Position key_pos;
  Value value;
};

inline constexpr int kMaxNestingDepth = 64;

// Parses an HCL or JSON document into its top-level object. `name` (a file name, or what the text
// is, such as "rules") starts every error message: `<name>:<line>:<column>: expected ...`.
StatusOr<Value> parse(std::string_view text, std::string_view name = "input");

// "<name>:<line>:<column>: <what>": for decoders reporting an error at a node.
Status errorAt(std::string_view name, Position pos, std::string_view what);

}  // namespace cairn::hcl
