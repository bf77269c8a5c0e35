#include "core/template/value.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/base/go_encoding.h"

namespace cairn::tmpl {
namespace {

const Value::List& emptyList() {
  static const Value::List kEmpty;
  return kEmpty;
}

const Value::Map& emptyMap() {
  static const Value::Map kEmpty;
  return kEmpty;
}

}  // namespace

Value Value::boolean(bool b) {
  Value v;
  v.kind_ = Kind::kBool;
  v.bool_ = b;
  return v;
}

Value Value::integer(int64_t i) {
  Value v;
  v.kind_ = Kind::kInt;
  v.int_ = i;
  return v;
}

Value Value::floating(double f) {
  Value v;
  v.kind_ = Kind::kFloat;
  v.float_ = f;
  return v;
}

Value Value::string(std::string s) {
  Value v;
  v.kind_ = Kind::kString;
  v.string_ = std::move(s);
  return v;
}

Value Value::list(List items) {
  Value v;
  v.kind_ = Kind::kList;
  v.list_ = std::make_shared<const List>(std::move(items));
  return v;
}

Value Value::map(Map entries) {
  Value v;
  v.kind_ = Kind::kMap;
  v.map_ = std::make_shared<const Map>(std::move(entries));
  return v;
}

Value Value::record(Map fields) {
  Value v = map(std::move(fields));
  v.record_ = true;
  return v;
}

const Value::List& Value::asList() const { return list_ ? *list_ : emptyList(); }
const Value::Map& Value::asMap() const { return map_ ? *map_ : emptyMap(); }

bool Value::truthy() const {
  switch (kind_) {
    case Kind::kNull:
      return false;
    case Kind::kBool:
      return bool_;
    case Kind::kInt:
      return int_ != 0;
    case Kind::kFloat:
      return float_ != 0;
    case Kind::kString:
      return !string_.empty();
    case Kind::kList:
      return !asList().empty();
    case Kind::kMap:
      // A struct is always true in Go; only maps can be empty.
      return record_ || !asMap().empty();
  }
  return false;
}

std::string Value::typeName() const {
  switch (kind_) {
    case Kind::kNull:
      return "nil";
    case Kind::kBool:
      return "bool";
    case Kind::kInt:
      return "int";
    case Kind::kFloat:
      return "float64";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "[]interface {}";
    case Kind::kMap:
      return record_ ? "struct" : "map[string]interface {}";
  }
  return "?";
}

std::string formatGoFloat(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto sci = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string s(buf, sci.ptr);
  size_t e = s.find('e');
  int exp = std::atoi(s.c_str() + e + 1);
  // Go's shortest 'g' switches to an exponent below 1e-4 and from 1e21... no: from 1e+06 (its
  // "eprec" is 6 for the shortest representation).
  if (exp < -4 || exp >= 6) return s;
  auto fixed = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::fixed);
  return std::string(buf, fixed.ptr);
}

std::string Value::format() const {
  switch (kind_) {
    case Kind::kNull:
      return "<nil>";
    case Kind::kBool:
      return bool_ ? "true" : "false";
    case Kind::kInt:
      return std::to_string(int_);
    case Kind::kFloat:
      return formatGoFloat(float_);
    case Kind::kString:
      return string_;
    case Kind::kList: {
      std::string out = "[";
      bool first = true;
      for (const Value& item : asList()) {
        if (!first) out += ' ';
        first = false;
        out += item.format();
      }
      return out + "]";
    }
    case Kind::kMap: {
      std::string out = record_ ? "{" : "map[";
      bool first = true;
      for (const auto& [k, v] : asMap()) {
        if (!first) out += ' ';
        first = false;
        out += record_ ? v.format() : k + ":" + v.format();
      }
      return out + (record_ ? "}" : "]");
    }
  }
  return "";
}

bool Value::operator==(const Value& other) const {
  if (isNumber() && other.isNumber()) {
    if (kind_ == Kind::kInt && other.kind_ == Kind::kInt) return int_ == other.int_;
    return asDouble() == other.asDouble();
  }
  if (kind_ != other.kind_) return false;
  switch (kind_) {
    case Kind::kNull:
      return true;
    case Kind::kBool:
      return bool_ == other.bool_;
    case Kind::kString:
      return string_ == other.string_;
    case Kind::kList:
      return asList() == other.asList();
    case Kind::kMap:
      return asMap() == other.asMap();
    default:
      return false;
  }
}

// ---- JSON ----

namespace {

// encoding/json's float format: 'f' unless the exponent is < -6 or >= 21, then 'e' with a
// one-digit minimum exponent ("1e-07" becomes "1e-7").
std::string jsonFloat(double f) {
  double a = std::fabs(f);
  char buf[64];
  if (a != 0 && (a < 1e-6 || a >= 1e21)) {
    auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
    std::string s(buf, r.ptr);
    size_t n = s.size();
    if (n >= 4 && s[n - 4] == 'e' && s[n - 3] == '-' && s[n - 2] == '0') s.erase(n - 2, 1);
    return s;
  }
  auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::fixed);
  return std::string(buf, r.ptr);
}

Status writeJson(const Value& v, std::string_view indent, int depth, std::string& out) {
  auto newline = [&](int level) {
    if (indent.empty()) return;
    out += '\n';
    for (int i = 0; i < level; ++i) out += indent;
  };
  switch (v.kind()) {
    case Value::Kind::kNull:
      out += "null";
      return Status::ok();
    case Value::Kind::kBool:
      out += v.asBool() ? "true" : "false";
      return Status::ok();
    case Value::Kind::kInt:
      out += std::to_string(v.asInt());
      return Status::ok();
    case Value::Kind::kFloat:
      if (!std::isfinite(v.asDouble())) {
        return invalidArgument("json: unsupported value: " + formatGoFloat(v.asDouble()));
      }
      out += jsonFloat(v.asDouble());
      return Status::ok();
    case Value::Kind::kString:
      out += goJsonString(v.asString());
      return Status::ok();
    case Value::Kind::kList: {
      if (v.asList().empty()) {
        out += "[]";
        return Status::ok();
      }
      out += '[';
      bool first = true;
      for (const Value& item : v.asList()) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        CAIRN_RETURN_IF_ERROR(writeJson(item, indent, depth + 1, out));
      }
      newline(depth);
      out += ']';
      return Status::ok();
    }
    case Value::Kind::kMap: {
      if (v.asMap().empty()) {
        out += "{}";
        return Status::ok();
      }
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.asMap()) {
        if (!first) out += ',';
        first = false;
        newline(depth + 1);
        out += goJsonString(k);
        out += indent.empty() ? ":" : ": ";
        CAIRN_RETURN_IF_ERROR(writeJson(item, indent, depth + 1, out));
      }
      newline(depth);
      out += '}';
      return Status::ok();
    }
  }
  return Status::ok();
}

// A strict RFC 8259 parser with a nesting limit (templates parse what a key holds, which anyone
// with write access to the KV store controls).
class JsonParser {
 public:
  explicit JsonParser(std::string_view text) : text_(text) {}

  StatusOr<Value> parseDocument() {
    auto v = parseValue(0);
    if (!v.isOk()) return v;
    skipSpace();
    if (pos_ != text_.size()) return error("invalid character after top-level value");
    return v;
  }

 private:
  static constexpr int kMaxDepth = 128;

  Status error(const std::string& what) const {
    return invalidArgument(what + " at offset " + std::to_string(pos_));
  }
  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\r' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }
  bool consume(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  StatusOr<Value> parseValue(int depth) {
    if (depth > kMaxDepth) return error("exceeded max depth");
    skipSpace();
    if (pos_ >= text_.size()) return error("unexpected end of JSON input");
    char c = text_[pos_];
    if (c == '{') return parseObject(depth);
    if (c == '[') return parseArray(depth);
    if (c == '"') {
      auto s = parseString();
      if (!s.isOk()) return s.status();
      return Value::string(std::move(*s));
    }
    if (consume("true")) return Value::boolean(true);
    if (consume("false")) return Value::boolean(false);
    if (consume("null")) return Value();
    if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
    return error(std::string("invalid character '") + c + "' looking for beginning of value");
  }

  StatusOr<Value> parseNumber() {
    size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    auto digits = [&] {
      size_t d = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ - d;
    };
    size_t int_start = pos_;
    if (digits() == 0) return error("invalid number");
    if (text_[int_start] == '0' && pos_ - int_start > 1) return error("invalid number");
    if (pos_ < text_.size() && text_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return error("invalid number");
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (digits() == 0) return error("invalid number");
    }
    std::string literal(text_.substr(start, pos_ - start));
    return Value::floating(std::strtod(literal.c_str(), nullptr));
  }

  StatusOr<uint32_t> hex4() {
    if (pos_ + 4 > text_.size()) return error("invalid \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = text_[pos_++];
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return error("invalid \\u escape");
      cp = cp * 16 + static_cast<uint32_t>(d);
    }
    return cp;
  }

  // \uXXXX, with a surrogate pair combined; a lone surrogate becomes U+FFFD as in Go.
  StatusOr<uint32_t> unicodeEscape() {
    auto cp = hex4();
    if (!cp.isOk() || *cp < 0xD800 || *cp > 0xDFFF) return cp;
    if (*cp <= 0xDBFF && text_.substr(pos_, 2) == "\\u") {
      size_t save = pos_;
      pos_ += 2;
      auto low = hex4();
      if (low.isOk() && *low >= 0xDC00 && *low <= 0xDFFF) {
        return 0x10000 + ((*cp - 0xD800) << 10) + (*low - 0xDC00);
      }
      pos_ = save;
    }
    return 0xFFFDu;
  }

  StatusOr<std::string> parseString() {
    ++pos_;
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) return error("unexpected end of JSON input");
      char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return error("invalid character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) return error("unexpected end of JSON input");
      char e = text_[pos_++];
      if (e == 'u') {
        auto cp = unicodeEscape();
        if (!cp.isOk()) return cp.status();
        appendUtf8(*cp, out);
        continue;
      }
      // The one-character escapes, as (escape, byte) pairs.
      static constexpr std::string_view kSimple = "\"\"\\\\//b\bf\fn\nr\rt\t";
      size_t at = kSimple.find(e);
      if (at == std::string_view::npos || at % 2 != 0) return error("invalid escape in string");
      out += kSimple[at + 1];
    }
  }

  StatusOr<Value> parseArray(int depth) {
    ++pos_;
    Value::List items;
    skipSpace();
    if (consume("]")) return Value::list(std::move(items));
    while (true) {
      auto item = parseValue(depth + 1);
      if (!item.isOk()) return item;
      items.push_back(std::move(*item));
      skipSpace();
      if (consume("]")) return Value::list(std::move(items));
      if (!consume(",")) return error("expected ',' or ']' in array");
    }
  }

  StatusOr<Value> parseObject(int depth) {
    ++pos_;
    Value::Map entries;
    skipSpace();
    if (consume("}")) return Value::map(std::move(entries));
    while (true) {
      skipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return error("expected object key");
      auto key = parseString();
      if (!key.isOk()) return key.status();
      skipSpace();
      if (!consume(":")) return error("expected ':' after object key");
      auto item = parseValue(depth + 1);
      if (!item.isOk()) return item;
      entries.insert_or_assign(std::move(*key), std::move(*item));
      skipSpace();
      if (consume("}")) return Value::map(std::move(entries));
      if (!consume(",")) return error("expected ',' or '}' in object");
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

StatusOr<std::string> toJson(const Value& value) { return toJsonIndent(value, ""); }

StatusOr<std::string> toJsonIndent(const Value& value, std::string_view indent) {
  std::string out;
  CAIRN_RETURN_IF_ERROR(writeJson(value, indent, 0, out));
  return out;
}

StatusOr<Value> parseJson(std::string_view text) { return JsonParser(text).parseDocument(); }

}  // namespace cairn::tmpl
