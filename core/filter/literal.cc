#include "core/filter/literal.h"

#include <charconv>
#include <limits>

namespace cairn::filter::internal {
namespace {

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads `count` hex digits of `s` starting at `pos`; nullopt when fewer are there.
std::optional<uint32_t> readHex(std::string_view s, size_t pos, size_t count) {
  if (pos + count > s.size()) return std::nullopt;
  uint32_t v = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    int d = hexDigit(s[i]);
    if (d < 0) return std::nullopt;
    v = v * 16 + static_cast<uint32_t>(d);
  }
  return v;
}

void appendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::optional<char> simpleEscape(char c) {
  switch (c) {
    case 'a':
      return '\a';
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'v':
      return '\v';
    case '\\':
      return '\\';
    case '"':
      return '"';
    default:
      return std::nullopt;
  }
}

// Decodes the escape starting at body[pos] (the character after '\'), appending to `out`.
// Returns the number of characters consumed after the backslash, or 0 when invalid.
size_t decodeEscape(std::string_view body, size_t pos, std::string& out) {
  if (pos >= body.size()) return 0;
  char c = body[pos];
  if (auto simple = simpleEscape(c)) {
    out.push_back(*simple);
    return 1;
  }
  if (c == 'x') {
    auto v = readHex(body, pos + 1, 2);
    if (!v) return 0;
    out.push_back(static_cast<char>(*v));
    return 3;
  }
  if (c >= '0' && c <= '7') {
    if (pos + 3 > body.size()) return 0;
    uint32_t v = 0;
    for (size_t i = pos; i < pos + 3; ++i) {
      if (body[i] < '0' || body[i] > '7') return 0;
      v = v * 8 + static_cast<uint32_t>(body[i] - '0');
    }
    if (v > 255) return 0;
    out.push_back(static_cast<char>(v));
    return 3;
  }
  if (c == 'u' || c == 'U') {
    size_t digits = c == 'u' ? 4 : 8;
    auto cp = readHex(body, pos + 1, digits);
    if (!cp || *cp > 0x10FFFF || (*cp >= 0xD800 && *cp <= 0xDFFF)) return 0;
    appendUtf8(*cp, out);
    return 1 + digits;
  }
  return 0;
}

}  // namespace

std::optional<std::string> unquoteDouble(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size();) {
    char c = body[i];
    if (c == '\n') return std::nullopt;
    if (c != '\\') {
      out.push_back(c);
      ++i;
      continue;
    }
    size_t used = decodeEscape(body, i + 1, out);
    if (used == 0) return std::nullopt;
    i += 1 + used;
  }
  return out;
}

std::string unquoteRaw(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (char c : body) {
    if (c != '\r') out.push_back(c);
  }
  return out;
}

std::optional<bool> parseBool(std::string_view raw) {
  if (raw == "1" || raw == "t" || raw == "T" || raw == "TRUE" || raw == "true" || raw == "True") {
    return true;
  }
  if (raw == "0" || raw == "f" || raw == "F" || raw == "FALSE" || raw == "false" ||
      raw == "False") {
    return false;
  }
  return std::nullopt;
}

namespace {

// Splits off a Go base prefix; `s` becomes the digits. A leading "0" (octal) stays a digit.
unsigned takeBase(std::string_view& s, bool& prefixed) {
  prefixed = false;
  if (s.size() < 2 || s[0] != '0') return 10;
  char p = s[1];
  if (p == 'x' || p == 'X' || p == 'o' || p == 'O' || p == 'b' || p == 'B') {
    prefixed = true;
    s.remove_prefix(2);
    return (p == 'x' || p == 'X') ? 16 : (p == 'o' || p == 'O') ? 8 : 2;
  }
  prefixed = true;  // "0" prefix: octal, and '_' may follow it.
  return 8;
}

}  // namespace

std::optional<GoInteger> parseInteger(std::string_view raw) {
  GoInteger result;
  if (!raw.empty() && (raw[0] == '+' || raw[0] == '-')) {
    result.negative = raw[0] == '-';
    result.explicit_sign = true;
    raw.remove_prefix(1);
  }
  bool prefixed = false;
  unsigned base = takeBase(raw, prefixed);
  bool underscore_ok = prefixed, any_digit = false, last_underscore = false;
  for (char c : raw) {
    if (c == '_') {
      if (!underscore_ok) return std::nullopt;
      underscore_ok = false;
      last_underscore = true;
      continue;
    }
    int d = hexDigit(c);
    if (d < 0 || static_cast<unsigned>(d) >= base) return std::nullopt;
    if (result.magnitude > (std::numeric_limits<uint64_t>::max() - d) / base) return std::nullopt;
    result.magnitude = result.magnitude * base + static_cast<unsigned>(d);
    any_digit = true;
    underscore_ok = true;
    last_underscore = false;
  }
  if (!any_digit || last_underscore) return std::nullopt;
  return result;
}

bool integerEquals(const GoInteger& parsed, int64_t field) {
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (!parsed.negative) {
    return parsed.magnitude <= kMaxPositive && static_cast<int64_t>(parsed.magnitude) == field;
  }
  if (parsed.magnitude > kMaxPositive + 1) return false;
  if (field >= 0) return parsed.magnitude == 0 && field == 0;
  return static_cast<uint64_t>(-(field + 1)) + 1 == parsed.magnitude;
}

bool integerEquals(const GoInteger& parsed, uint64_t field) {
  return !parsed.explicit_sign && parsed.magnitude == field;
}

std::optional<double> parseFloat(std::string_view raw) {
  if (!raw.empty() && raw[0] == '+') {
    raw.remove_prefix(1);
    if (!raw.empty() && raw[0] == '-') return std::nullopt;
  }
  if (raw.empty()) return std::nullopt;
  double value = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
  if (ec != std::errc() || end != raw.data() + raw.size()) return std::nullopt;
  return value;
}

}  // namespace cairn::filter::internal
