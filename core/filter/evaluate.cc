#include "core/filter/evaluate.h"

#include <algorithm>
#include <optional>

#include "core/filter/literal.h"

namespace cairn::filter::internal {
namespace {

using web::json::value;

// An array index in a selector: decimal digits only, below `size`.
std::optional<size_t> arrayIndex(const std::string& part, size_t size) {
  if (part.empty() || part.size() > 19) return std::nullopt;
  size_t index = 0;
  for (char c : part) {
    if (c < '0' || c > '9') return std::nullopt;
    index = index * 10 + static_cast<size_t>(c - '0');
  }
  if (index >= size) return std::nullopt;
  return index;
}

// The field `path` names inside `root`, or nullptr when some step does not exist. Object keys
// match exactly (case-sensitive, as go-bexpr's struct and map lookups).
const value* resolve(const value& root, const std::vector<std::string>& path) {
  const value* current = &root;
  for (const std::string& part : path) {
    if (current->is_object()) {
      const web::json::object& object = current->as_object();
      auto it = object.find(part);
      if (it == object.end()) return nullptr;
      current = &it->second;
    } else if (current->is_array()) {
      const web::json::array& array = current->as_array();
      auto index = arrayIndex(part, array.size());
      if (!index) return nullptr;
      current = &array.at(*index);
    } else {
      return nullptr;
    }
  }
  return current;
}

bool numberEquals(const web::json::number& number, const std::string& raw) {
  if (number.is_integral()) {
    auto parsed = parseInteger(raw);
    if (!parsed) return false;
    return number.is_int64() ? integerEquals(*parsed, number.to_int64())
                             : integerEquals(*parsed, number.to_uint64());
  }
  auto parsed = parseFloat(raw);
  return parsed && *parsed == number.to_double();
}

// `raw` coerced to the type of `field` and compared; objects, arrays and null never equal.
bool scalarEquals(const value& field, const std::string& raw) {
  if (field.is_string()) return field.as_string() == raw;
  if (field.is_boolean()) {
    auto parsed = parseBool(raw);
    return parsed && *parsed == field.as_bool();
  }
  if (field.is_number()) return numberEquals(field.as_number(), raw);
  return false;
}

// `in` / `contains`: element equality for arrays, key presence for objects, substring for strings.
bool containsValue(const value& field, const std::string& raw) {
  if (field.is_array()) {
    const web::json::array& array = field.as_array();
    return std::any_of(array.begin(), array.end(),
                       [&raw](const value& item) { return scalarEquals(item, raw); });
  }
  if (field.is_object()) {
    const web::json::object& object = field.as_object();
    return object.find(raw) != object.end();
  }
  if (field.is_string()) return field.as_string().find(raw) != std::string::npos;
  return false;
}

bool isEmpty(const value& field) {
  if (field.is_array()) return field.as_array().size() == 0;
  if (field.is_object()) return field.as_object().size() == 0;
  if (field.is_string()) return field.as_string().empty();
  return false;
}

// The operator without its negation, for a field that exists and is not null.
bool positiveMatch(const Match& m, const value& field) {
  switch (m.op) {
    case MatchOp::kEqual:
      return scalarEquals(field, m.value);
    case MatchOp::kIn:
      return containsValue(field, m.value);
    case MatchOp::kIsEmpty:
      return isEmpty(field);
    case MatchOp::kMatches:
      return field.is_string() && m.regex && RE2::PartialMatch(field.as_string(), *m.regex);
  }
  return false;
}

bool evaluateMatch(const Match& m, const value& element) {
  const value* field = resolve(element, m.selector);
  // Not present (or null): nothing equals it, contains anything or matches; it is empty.
  bool positive =
      (!field || field->is_null()) ? m.op == MatchOp::kIsEmpty : positiveMatch(m, *field);
  return positive != m.negated;
}

}  // namespace

bool evaluate(const Node& node, const value& element) {
  switch (node.kind) {
    case Node::Kind::kAnd:
      return std::all_of(node.children.begin(), node.children.end(),
                         [&element](const Node& child) { return evaluate(child, element); });
    case Node::Kind::kOr:
      return std::any_of(node.children.begin(), node.children.end(),
                         [&element](const Node& child) { return evaluate(child, element); });
    case Node::Kind::kNot:
      return !node.children.empty() && !evaluate(node.children.front(), element);
    case Node::Kind::kMatch:
      return evaluateMatch(node.match, element);
  }
  return false;
}

}  // namespace cairn::filter::internal
