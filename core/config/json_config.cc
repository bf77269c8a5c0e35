#include "core/config/json_config.h"

#include <cstdint>

namespace cairn::config {
namespace {

// Deep enough for any real config, shallow enough that the recursion cannot exhaust the stack.
constexpr int kMaxDepth = 128;

class Parser {
 public:
  Parser(std::string_view text, const std::string& origin) : text_(text), origin_(origin) {}

  StatusOr<ConfigValue> document() {
    skipSpace();
    if (atEnd()) return ConfigValue::map(ConfigPos{1, 1});
    ConfigPos start = pos();
    auto v = value(0);
    if (!v.isOk()) return v;
    skipSpace();
    if (!atEnd()) return error("unexpected " + describe() + " after the top-level value");
    if (!v->isMap()) return errorAt(start, "expected a map of config keys (a JSON object)");
    return v;
  }

 private:
  bool atEnd() const { return i_ >= text_.size(); }
  char peek() const { return atEnd() ? '\0' : text_[i_]; }
  ConfigPos pos() const { return ConfigPos{line_, static_cast<int>(i_ - line_start_) + 1}; }

  void advance() {
    if (text_[i_] == '\n') {
      ++line_;
      line_start_ = i_ + 1;
    }
    ++i_;
  }

  void skipSpace() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      advance();
    }
  }

  std::string describe() const {
    if (atEnd()) return "end of file";
    unsigned char c = static_cast<unsigned char>(peek());
    if (c < 0x20 || c >= 0x7f) {
      static const char* hex = "0123456789abcdef";
      return std::string("byte 0x") + hex[c >> 4] + hex[c & 15];
    }
    return std::string("'") + static_cast<char>(c) + "'";
  }

  Status errorAt(ConfigPos p, const std::string& message) const {
    return invalidArgument(origin_ + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) +
                           ": " + message);
  }
  Status error(const std::string& message) const { return errorAt(pos(), message); }

  StatusOr<ConfigValue> value(int depth) {
    if (depth > kMaxDepth) return error("nesting deeper than " + std::to_string(kMaxDepth));
    ConfigPos start = pos();
    char c = peek();
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') {
      std::string s;
      CAIRN_RETURN_IF_ERROR(string(&s));
      return ConfigValue::string(std::move(s), start);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    for (const char* word : {"true", "false", "null"}) {
      if (text_.substr(i_, std::string_view(word).size()) == word) {
        for (size_t n = std::string_view(word).size(); n > 0; --n) advance();
        if (word[0] == 'n') return ConfigValue::null(start);
        return ConfigValue::boolean(word[0] == 't', start);
      }
    }
    if (c == '\'') return error("strings must use double quotes");
    if (c == '/' || c == '#') return error("comments are not allowed in JSON");
    return error("unexpected " + describe() + ", expected a value");
  }

  StatusOr<ConfigValue> object(int depth) {
    ConfigValue map = ConfigValue::map(pos());
    advance();  // {
    skipSpace();
    if (peek() == '}') {
      advance();
      return map;
    }
    while (true) {
      skipSpace();
      if (peek() == '}') return error("trailing comma before '}'");
      if (peek() == '\'') return error("strings must use double quotes");
      if (peek() != '"') return error("unexpected " + describe() + ", expected a quoted key");
      std::string key;
      CAIRN_RETURN_IF_ERROR(string(&key));
      skipSpace();
      if (peek() != ':') return error("unexpected " + describe() + " after a key, expected ':'");
      advance();
      skipSpace();
      auto v = value(depth + 1);
      if (!v.isOk()) return v;
      map.set(std::move(key), std::move(*v));
      skipSpace();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == '}') {
        advance();
        return map;
      }
      return error("unexpected " + describe() + " in an object, expected ',' or '}'");
    }
  }

  StatusOr<ConfigValue> array(int depth) {
    ConfigValue list = ConfigValue::list(pos());
    advance();  // [
    skipSpace();
    if (peek() == ']') {
      advance();
      return list;
    }
    while (true) {
      skipSpace();
      if (peek() == ']') return error("trailing comma before ']'");
      auto v = value(depth + 1);
      if (!v.isOk()) return v;
      list.append(std::move(*v));
      skipSpace();
      if (peek() == ',') {
        advance();
        continue;
      }
      if (peek() == ']') {
        advance();
        return list;
      }
      return error("unexpected " + describe() + " in a list, expected ',' or ']'");
    }
  }

  StatusOr<ConfigValue> number() {
    ConfigPos start = pos();
    size_t begin = i_;
    auto digits = [this] {
      size_t n = 0;
      while (peek() >= '0' && peek() <= '9') {
        advance();
        ++n;
      }
      return n;
    };
    if (peek() == '-') advance();
    if (peek() == '0') {
      advance();
      if (peek() >= '0' && peek() <= '9') return error("numbers cannot have leading zeros");
    } else if (digits() == 0) {
      return error("unexpected " + describe() + " in a number");
    }
    if (peek() == '.') {
      advance();
      if (digits() == 0) return error("expected a digit after the decimal point");
    }
    if (peek() == 'e' || peek() == 'E') {
      advance();
      if (peek() == '+' || peek() == '-') advance();
      if (digits() == 0) return error("expected a digit in the exponent");
    }
    return ConfigValue::number(std::string(text_.substr(begin, i_ - begin)), start);
  }

  static void appendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xc0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      *out += static_cast<char>(0xe0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      *out += static_cast<char>(0xf0 | (cp >> 18));
      *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      *out += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }

  Status hex4(uint32_t* out) {
    *out = 0;
    for (int k = 0; k < 4; ++k) {
      char c = peek();
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return error("expected 4 hex digits after \\u");
      *out = *out * 16 + static_cast<uint32_t>(d);
      advance();
    }
    return Status::ok();
  }

  // \uXXXX, with UTF-16 surrogate pairs joined; a lone surrogate becomes U+FFFD (as in Go).
  Status unicodeEscape(std::string* out) {
    uint32_t cp = 0;
    CAIRN_RETURN_IF_ERROR(hex4(&cp));
    if (cp >= 0xd800 && cp < 0xdc00 && text_.substr(i_, 2) == "\\u") {
      advance();
      advance();
      uint32_t low = 0;
      CAIRN_RETURN_IF_ERROR(hex4(&low));
      if (low >= 0xdc00 && low < 0xe000) {
        appendUtf8(0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00), out);
        return Status::ok();
      }
      appendUtf8(0xfffd, out);
      cp = low;
    }
    appendUtf8(cp >= 0xd800 && cp < 0xe000 ? 0xfffd : cp, out);
    return Status::ok();
  }

  Status string(std::string* out) {
    advance();  // "
    while (true) {
      if (atEnd()) return error("unterminated string");
      char c = peek();
      if (c == '"') {
        advance();
        return Status::ok();
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        return error(c == '\n' ? "unterminated string (a newline must be written \\n)"
                               : "control character " + describe() + " in a string");
      }
      if (c != '\\') {
        *out += c;
        advance();
        continue;
      }
      advance();
      char e = peek();
      static const std::string_view kSimple = "\"\\/bfnrt";
      static const char kMeaning[] = "\"\\/\b\f\n\r\t";
      if (size_t k = kSimple.find(e); !atEnd() && k != std::string_view::npos) {
        *out += kMeaning[k];
        advance();
      } else if (e == 'u') {
        advance();
        CAIRN_RETURN_IF_ERROR(unicodeEscape(out));
      } else {
        return error("invalid escape \\" + std::string(atEnd() ? "" : std::string(1, e)) +
                     " in a string");
      }
    }
  }

  std::string_view text_;
  const std::string& origin_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

}  // namespace

StatusOr<ConfigValue> parseStrictJson(std::string_view text, const std::string& origin) {
  return Parser(text, origin).document();
}

}  // namespace cairn::config
