#include "core/base/go_encoding.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <utility>

namespace cairn {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char* shortEscape(unsigned char c) {
  constexpr std::pair<char, const char*> kEscapes[] = {
      {'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"}, {'\r', "\\r"},
      {'\t', "\\t"}, {'\b', "\\b"},  {'\f', "\\f"},
  };
  for (const auto& [ch, text] : kEscapes) {
    if (ch == static_cast<char>(c)) return text;
  }
  return nullptr;
}

}  // namespace

size_t utf8Length(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size() || (n == 2 && c < 0xc2)) return 0;
  uint32_t cp = n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
  if (overlong || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

std::string goJsonString(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = utf8Length(s, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (n > 1) {
      std::string_view seq = s.substr(i, n);
      out += seq == "\u2028" ? "\\u2028" : seq == "\u2029" ? "\\u2029" : std::string(seq);
      i += n;
      continue;
    }
    ++i;
    if (const char* escaped = shortEscape(c)) {
      out += escaped;
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    out += kBase64[(v >> 18) & 63];
    out += kBase64[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kBase64[(v >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kBase64[v & 63] : '=';
  }
  return out;
}

StatusOr<std::string> base64Decode(std::string_view text) {
  auto illegal = [](size_t at) {
    return invalidArgument("illegal base64 data at input byte " + std::to_string(at));
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0, quantum = 0, pads = 0;
  size_t quantum_start = 0;  // Go reports an incomplete last quantum at its first byte
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r' || c == '\n') continue;
    if (quantum == 0 && pads == 0) quantum_start = i;
    if (c == '=') {
      if (quantum < 2 || ++pads + quantum > 4) return illegal(i);
      continue;
    }
    const char* pos = std::strchr(kBase64, c);
    if (c == '\0' || pos == nullptr || pads > 0) return illegal(i);
    acc = (acc << 6) | static_cast<uint32_t>(pos - kBase64);
    bits += 6;
    quantum = (quantum + 1) % 4;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((quantum + pads) % 4 != 0) return illegal(quantum_start);
  return out;
}

namespace {

int digitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// Splits off a base prefix like Go's base-0 parsing.
int takeBase(std::string_view* text) {
  std::string_view t = *text;
  if (t.size() >= 2 && t[0] == '0') {
    char p = static_cast<char>(t[1] | 0x20);
    int base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 0;
    if (base != 0) {
      *text = t.substr(2);
      return base;
    }
    *text = t.substr(1);
    return 8;
  }
  return 10;
}

// Underscores may only separate digits (Go's underscoreOK, simplified).
bool underscoresOk(std::string_view digits) {
  if (digits.empty() || digits.front() == '_' || digits.back() == '_') return false;
  return digits.find("__") == std::string_view::npos;
}

}  // namespace

bool parseGoBool(std::string_view t, bool* out) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") {
    *out = true;
    return true;
  }
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False") {
    *out = false;
    return true;
  }
  return false;
}

StatusOr<uint64_t> parseGoUint(std::string_view text) {
  if (text.empty()) return invalidArgument("parse error");
  std::string_view digits = text;
  int base = takeBase(&digits);
  if (digits.empty()) {
    if (text == "0") return uint64_t{0};
    return invalidArgument("parse error");
  }
  if (digits.find('_') != std::string_view::npos && !underscoresOk(digits)) {
    return invalidArgument("parse error");
  }
  uint64_t value = 0;
  bool overflow = false;
  for (char c : digits) {
    if (c == '_') continue;
    int d = digitValue(c);
    if (d >= base) return invalidArgument("parse error");
    if (value > (std::numeric_limits<uint64_t>::max() - d) / base) overflow = true;
    value = value * base + d;
  }
  if (overflow) return invalidArgument("value out of range");
  return value;
}

StatusOr<int64_t> parseGoInt(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  auto magnitude = parseGoUint(text);
  if (!magnitude.isOk()) return magnitude.status();
  uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  if (*magnitude > limit) return invalidArgument("value out of range");
  if (negative) return static_cast<int64_t>(0 - *magnitude);
  return static_cast<int64_t>(*magnitude);
}

std::string goQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

namespace {

void appendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Reads `digits` digits of `base` at s[*i]; false when they are not all there.
bool readDigits(std::string_view s, size_t* i, int digits, int base, uint32_t* value) {
  if (*i + digits > s.size()) return false;
  uint32_t v = 0;
  for (int k = 0; k < digits; ++k) {
    int d = digitValue(s[*i + k]);
    if (d >= base) return false;
    v = v * base + d;
  }
  *i += digits;
  *value = v;
  return true;
}

}  // namespace

StatusOr<std::string> goUnquote(std::string_view q) {
  const Status bad = invalidArgument("invalid syntax");
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return bad;
  std::string_view s = q.substr(1, q.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    char c = s[i++];
    if (c == '"' || c == '\n') return bad;
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i >= s.size()) return bad;
    char e = s[i++];
    uint32_t v = 0;
    switch (e) {
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case '"':
        out += '"';
        break;
      case 'x':
        if (!readDigits(s, &i, 2, 16, &v)) return bad;
        out += static_cast<char>(v);
        break;
      case 'u':
      case 'U':
        if (!readDigits(s, &i, e == 'u' ? 4 : 8, 16, &v)) return bad;
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return bad;
        appendUtf8(v, out);
        break;
      default:
        if (e < '0' || e > '7') return bad;
        --i;
        if (!readDigits(s, &i, 3, 8, &v) || v > 255) return bad;
        out += static_cast<char>(v);
    }
  }
  return out;
}

}  // namespace cairn
