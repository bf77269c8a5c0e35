#pragma once
// The values a template computes with: Go's dynamic values as text/template sees them (nil, bool,
// int, float64, string, slices, maps and structs), immutable and cheap to copy (lists and maps
// are shared).
//
// A record is a map that stands for a Go struct (a service entry, a key pair): reading a field
// it does not have is an error, as in Go. A plain map (from parseJSON) gives nil for a missing
// key. Map keys iterate in sorted order, as text/template ranges over Go maps.
//
// Threading: values are immutable; share them freely.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace cairn::tmpl {

class Value {
 public:
  enum class Kind { kNull, kBool, kInt, kFloat, kString, kList, kMap };
  using List = std::vector<Value>;
  using Map = std::map<std::string, Value, std::less<>>;

  Value() = default;
  static Value boolean(bool b);
  static Value integer(int64_t i);
  static Value floating(double f);
  static Value string(std::string s);
  static Value list(List items);
  static Value map(Map entries);
  static Value record(Map fields);

  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::kNull; }
  bool isNumber() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool isRecord() const { return record_; }
  bool asBool() const { return bool_; }
  int64_t asInt() const { return int_; }
  double asDouble() const { return kind_ == Kind::kInt ? static_cast<double>(int_) : float_; }
  const std::string& asString() const { return string_; }
  const List& asList() const;
  const Map& asMap() const;

  // Go's notion of truth in `if`, `with`, `and`, `or`, `not`: false, 0, nil and empty strings,
  // lists and maps are false.
  bool truthy() const;
  // Go's type name for error messages: "string", "int", "float64", "[]interface {}", ...
  std::string typeName() const;
  // Go's %v: `[a b]`, `map[k:v]`, 1e+06 for a float of a million. A nil prints "<nil>".
  std::string format() const;
  // Structural equality (numbers compare by value across int and float).
  bool operator==(const Value& other) const;

 private:
  Kind kind_ = Kind::kNull;
  bool record_ = false;
  bool bool_ = false;
  int64_t int_ = 0;
  double float_ = 0;
  std::string string_;
  std::shared_ptr<const List> list_;
  std::shared_ptr<const Map> map_;
};

// Go's strconv.FormatFloat(f, 'g', -1, 64), which %v uses for float64.
std::string formatGoFloat(double f);

// encoding/json's Marshal: compact, map keys sorted, HTML-safe strings. Integral floats print
// without a fraction; NaN and infinities are errors, as in Go.
StatusOr<std::string> toJson(const Value& value);
// Like toJson, indented by `indent` per level (json.MarshalIndent with "" and `indent`).
StatusOr<std::string> toJsonIndent(const Value& value, std::string_view indent);
// encoding/json's Unmarshal into interface{}: objects become maps, every number a float64.
StatusOr<Value> parseJson(std::string_view text);

}  // namespace cairn::tmpl
