#include "core/hcl/hcl.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <utility>

#include "core/base/go_encoding.h"

namespace cairn::hcl {

const char* kindName(Kind kind) {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "bool";
    case Kind::kNumber:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "list";
    case Kind::kObject:
      return "object";
  }
  return "value";
}

const Value* Value::find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

std::vector<const Value*> Value::blocks(std::string_view key) const {
  std::vector<const Value*> out;
  for (const Entry& entry : entries) {
    if (entry.key != key) continue;
    if (entry.value.kind == Kind::kList) {
      for (const Value& item : entry.value.items) out.push_back(&item);
    } else {
      out.push_back(&entry.value);
    }
  }
  return out;
}

Status errorAt(std::string_view name, Position pos, std::string_view what) {
  return invalidArgument(std::string(name) + ":" + std::to_string(pos.line) + ":" +
                         std::to_string(pos.column) + ": " + std::string(what));
}

namespace {

enum class Tok {
  kEof,
  kIdent,
  kString,  // quoted or heredoc; `text` is decoded
  kNumber,
  kLBrace,
  kRBrace,
  kLBracket,
  kRBracket,
  kEquals,
  kColon,
  kComma,
};

struct Token {
  Tok type = Tok::kEof;
  Position pos;
  std::string text;
};

// Thrown inside this file only; parse() turns it into a Status.
struct ParseError {
  Position pos;
  std::string what;
};

bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isIdentChar(char c) {
  return isIdentStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHexDigit(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string describe(const Token& tok) {
  switch (tok.type) {
    case Tok::kEof:
      return "end of input";
    case Tok::kIdent:
      return "'" + tok.text + "'";
    case Tok::kString:
      return "a string";
    case Tok::kNumber:
      return "number " + tok.text;
    case Tok::kLBrace:
      return "'{'";
    case Tok::kRBrace:
      return "'}'";
    case Tok::kLBracket:
      return "'['";
    case Tok::kRBracket:
      return "']'";
    case Tok::kEquals:
      return "'='";
    case Tok::kColon:
      return "':'";
    case Tok::kComma:
      return "','";
  }
  return "a token";
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Token next() {
    skipSpaceAndComments();
    Token tok;
    tok.pos = position();
    if (at_ >= text_.size()) return tok;
    char c = text_[at_];
    switch (c) {
      case '{':
        return punct(tok, Tok::kLBrace);
      case '}':
        return punct(tok, Tok::kRBrace);
      case '[':
        return punct(tok, Tok::kLBracket);
      case ']':
        return punct(tok, Tok::kRBracket);
      case '=':
        return punct(tok, Tok::kEquals);
      case ':':
        return punct(tok, Tok::kColon);
      case ',':
        return punct(tok, Tok::kComma);
      case '"':
        return quoted(tok);
      default:
        break;
    }
    if (c == '<' && peekAt(1) == '<') return heredoc(tok);
    if (isDigit(c) || (c == '-' && isDigit(peekAt(1)))) return number(tok);
    if (isIdentStart(c)) {
      size_t start = at_;
      while (at_ < text_.size() && isIdentChar(text_[at_])) advance();
      tok.type = Tok::kIdent;
      tok.text = std::string(text_.substr(start, at_ - start));
      return tok;
    }
    throw ParseError{tok.pos, "unexpected character " + quoteChar(c)};
  }

 private:
  static std::string quoteChar(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) return std::string("'") + c + "'";
    static const char* kHex = "0123456789abcdef";
    return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xF];
  }

  char peekAt(size_t ahead) const { return at_ + ahead < text_.size() ? text_[at_ + ahead] : '\0'; }

  Position position() const { return {line_, static_cast<int>(at_ - line_start_) + 1}; }

  void advance() {
    if (text_[at_] == '\n') {
      ++line_;
      line_start_ = at_ + 1;
    }
    ++at_;
  }

  Token& punct(Token& tok, Tok type) {
    tok.type = type;
    advance();
    return tok;
  }

  void skipSpaceAndComments() {
    while (at_ < text_.size()) {
      char c = text_[at_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        advance();
      } else if (c == '#' || (c == '/' && peekAt(1) == '/')) {
        while (at_ < text_.size() && text_[at_] != '\n') advance();
      } else if (c == '/' && peekAt(1) == '*') {
        Position open = position();
        advance();
        advance();
        while (at_ < text_.size() && !(text_[at_] == '*' && peekAt(1) == '/')) advance();
        if (at_ >= text_.size()) {
          throw ParseError{open, "expected '*/' to close the comment before end of input"};
        }
        advance();
        advance();
      } else {
        return;
      }
    }
  }

  uint32_t hexDigits(int count, Position escape) {
    uint32_t value = 0;
    for (int i = 0; i < count; ++i) {
      char c = peekAt(0);
      if (!isHexDigit(c)) {
        throw ParseError{escape, "expected " + std::to_string(count) +
                                     " hexadecimal digits in the unicode escape"};
      }
      value = value * 16 + static_cast<uint32_t>(isDigit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
      advance();
    }
    return value;
  }

  void escape(std::string& out) {
    Position pos = position();
    advance();  // the backslash
    if (at_ >= text_.size()) throw ParseError{pos, "expected an escape character after '\\'"};
    char c = text_[at_];
    advance();
    switch (c) {
      case 'n':
        out += '\n';
        return;
      case 't':
        out += '\t';
        return;
      case 'r':
        out += '\r';
        return;
      case 'b':
        out += '\b';
        return;
      case 'f':
        out += '\f';
        return;
      case '"':
      case '\\':
      case '/':
        out += c;
        return;
      case 'u':
      case 'U': {
        uint32_t cp = hexDigits(c == 'u' ? 4 : 8, pos);
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          throw ParseError{pos, "expected a unicode escape of a valid code point"};
        }
        appendUtf8(cp, out);
        return;
      }
      default:
        throw ParseError{pos,
                         "expected a valid escape (\\n \\t \\r \\b \\f \\\" \\\\ \\/ "
                         "\\uXXXX \\UXXXXXXXX), found " +
                             quoteChar(c)};
    }
  }

  Token& quoted(Token& tok) {
    advance();  // opening quote
    while (true) {
      if (at_ >= text_.size() || text_[at_] == '\n') {
        throw ParseError{tok.pos, "expected '\"' to close the string on its line"};
      }
      char c = text_[at_];
      if (c == '"') break;
      if (c == '\\') {
        escape(tok.text);
      } else {
        tok.text += c;
        advance();
      }
    }
    advance();  // closing quote
    tok.type = Tok::kString;
    return tok;
  }

  // <<MARKER or <<-MARKER, a newline, lines, then a line holding only the marker (for `<<-`,
  // indented; the lines' common indentation is removed). The value ends with a newline.
  Token& heredoc(Token& tok) {
    advance();
    advance();
    bool indented = peekAt(0) == '-';
    if (indented) advance();
    size_t start = at_;
    while (at_ < text_.size() && isIdentChar(text_[at_])) advance();
    std::string marker(text_.substr(start, at_ - start));
    if (marker.empty()) throw ParseError{tok.pos, "expected a heredoc marker after '<<'"};
    if (peekAt(0) == '\r') advance();
    if (peekAt(0) != '\n') {
      throw ParseError{position(), "expected a newline after the heredoc marker " + marker};
    }
    advance();
    std::vector<std::string_view> lines;
    while (true) {
      if (at_ >= text_.size()) {
        throw ParseError{
            tok.pos, "expected the heredoc's closing marker " + marker + " before end of input"};
      }
      size_t line_begin = at_;
      while (at_ < text_.size() && text_[at_] != '\n') advance();
      std::string_view line = text_.substr(line_begin, at_ - line_begin);
      if (at_ < text_.size()) advance();
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      std::string_view trimmed = line;
      if (indented) {
        trimmed.remove_prefix(std::min(trimmed.find_first_not_of(" \t"), trimmed.size()));
      }
      if (trimmed == marker) break;
      lines.push_back(line);
    }
    size_t strip = 0;
    if (indented && !lines.empty()) {
      strip = std::string_view::npos;
      for (std::string_view line : lines) {
        size_t indent = line.find_first_not_of(" \t");
        if (indent == std::string_view::npos) continue;  // blank lines do not count
        strip = std::min(strip, indent);
      }
      if (strip == std::string_view::npos) strip = 0;
    }
    for (std::string_view line : lines) {
      tok.text.append(line.substr(std::min(strip, line.size())));
      tok.text += '\n';
    }
    tok.type = Tok::kString;
    return tok;
  }

  Token& number(Token& tok) {
    size_t start = at_;
    if (peekAt(0) == '-') advance();
    if (peekAt(0) == '0' && (peekAt(1) == 'x' || peekAt(1) == 'X')) {
      advance();
      advance();
      if (!isHexDigit(peekAt(0))) throw ParseError{tok.pos, "expected hexadecimal digits"};
      while (isHexDigit(peekAt(0))) advance();
    } else {
      while (isDigit(peekAt(0))) advance();
      if (peekAt(0) == '.') {
        advance();
        if (!isDigit(peekAt(0))) throw ParseError{tok.pos, "expected digits after '.'"};
        while (isDigit(peekAt(0))) advance();
      }
      if (peekAt(0) == 'e' || peekAt(0) == 'E') {
        advance();
        if (peekAt(0) == '+' || peekAt(0) == '-') advance();
        if (!isDigit(peekAt(0))) throw ParseError{tok.pos, "expected digits in the exponent"};
        while (isDigit(peekAt(0))) advance();
      }
    }
    if (isIdentChar(peekAt(0))) {
      throw ParseError{tok.pos, "expected a number, found " + quoteChar(peekAt(0)) + " inside it"};
    }
    tok.type = Tok::kNumber;
    tok.text = std::string(text_.substr(start, at_ - start));
    return tok;
  }

  std::string_view text_;
  size_t at_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

class Parser {
 public:
  explicit Parser(std::string_view text) : lexer_(text) { tok_ = lexer_.next(); }

  Value document() {
    Value top;
    top.kind = Kind::kObject;
    top.pos = tok_.pos;
    if (tok_.type == Tok::kLBrace) {
      top = object();  // JSON: the document is one object
    } else {
      body(top, Tok::kEof);
    }
    if (tok_.type != Tok::kEof) fail("expected end of input, found " + describe(tok_));
    return top;
  }

 private:
  [[noreturn]] void fail(std::string what) const { throw ParseError{tok_.pos, std::move(what)}; }

  Token take() {
    Token tok = std::move(tok_);
    tok_ = lexer_.next();
    return tok;
  }

  static bool isKey(const Token& tok) {
    return tok.type == Tok::kIdent || tok.type == Tok::kString;
  }

  // Items until `end` (not consumed), each optionally followed by a comma.
  void body(Value& object, Tok end) {
    while (tok_.type != end) {
      if (!isKey(tok_)) {
        fail("expected a key (an identifier or a string)" +
             std::string(end == Tok::kRBrace ? " or '}'" : "") + ", found " + describe(tok_));
      }
      object.entries.push_back(item());
      if (tok_.type == Tok::kComma) take();
    }
  }

  // key ( '=' value | ':' value | label* '{' body '}' )
  Entry item() {
    Token key = take();
    Entry entry;
    entry.key = std::move(key.text);
    entry.key_pos = key.pos;
    if (tok_.type == Tok::kEquals || tok_.type == Tok::kColon) {
      take();
      entry.value = value();
      return entry;
    }
    std::vector<Token> labels;
    while (isKey(tok_)) labels.push_back(take());
    if (tok_.type != Tok::kLBrace) {
      fail("expected '=' or '{' after key \"" + entry.key + "\", found " + describe(tok_));
    }
    Value inner = object();
    // `a "b" "c" {}` is a → { b → { c → {} } }: wrap from the innermost label outwards.
    for (auto it = labels.rbegin(); it != labels.rend(); ++it) {
      Value wrapper;
      wrapper.kind = Kind::kObject;
      wrapper.pos = it->pos;
      wrapper.entries.push_back(Entry{std::move(it->text), it->pos, std::move(inner)});
      inner = std::move(wrapper);
    }
    entry.value = std::move(inner);
    return entry;
  }

  void enter() {
    if (++depth_ > kMaxNestingDepth) {
      fail("expected at most " + std::to_string(kMaxNestingDepth) + " levels of nesting");
    }
  }

  Value object() {
    enter();
    Value out;
    out.kind = Kind::kObject;
    out.pos = take().pos;  // '{'
    body(out, Tok::kRBrace);
    take();  // '}'
    --depth_;
    return out;
  }

  Value list() {
    enter();
    Value out;
    out.kind = Kind::kList;
    out.pos = take().pos;  // '['
    while (tok_.type != Tok::kRBracket) {
      out.items.push_back(value());
      if (tok_.type == Tok::kComma) {
        take();
      } else if (tok_.type != Tok::kRBracket) {
        fail("expected ',' or ']' in the list, found " + describe(tok_));
      }
    }
    take();  // ']'
    --depth_;
    return out;
  }

  Value value() {
    Value out;
    out.pos = tok_.pos;
    switch (tok_.type) {
      case Tok::kString:
        out.kind = Kind::kString;
        out.text = take().text;
        return out;
      case Tok::kNumber:
        return numberValue(take());
      case Tok::kLBrace:
        return object();
      case Tok::kLBracket:
        return list();
      case Tok::kIdent:
        if (tok_.text == "true" || tok_.text == "false") {
          out.kind = Kind::kBool;
          out.boolean = take().text == "true";
          return out;
        }
        if (tok_.text == "null") {
          take();
          return out;
        }
        break;
      default:
        break;
    }
    fail("expected a value (a string, number, bool, list or object), found " + describe(tok_));
  }

  static Value numberValue(Token tok) {
    Value out;
    out.kind = Kind::kNumber;
    out.pos = tok.pos;
    out.text = std::move(tok.text);
    const std::string& s = out.text;
    bool negative = s[0] == '-';
    size_t digits = negative ? 1 : 0;
    bool hex = s.size() > digits + 1 && s[digits] == '0' && (s[digits + 1] | 0x20) == 'x';
    if (hex) {
      uint64_t magnitude = 0;
      auto [end, ec] = std::from_chars(s.data() + digits + 2, s.data() + s.size(), magnitude, 16);
      (void)end;
      out.number = static_cast<double>(magnitude);
      if (negative) out.number = -out.number;
      if (ec == std::errc() && magnitude <= static_cast<uint64_t>(INT64_MAX)) {
        out.is_integer = true;
        out.integer = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
      }
      return out;
    }
    out.number = std::strtod(s.c_str(), nullptr);
    if (s.find_first_of(".eE") == std::string::npos) {
      auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out.integer);
      out.is_integer = ec == std::errc() && end == s.data() + s.size();
    }
    return out;
  }

  Lexer lexer_;
  Token tok_;
  int depth_ = 0;
};

}  // namespace

StatusOr<Value> parse(std::string_view text, std::string_view name) {
  try {
    Parser parser(text);
    return parser.document();
  } catch (const ParseError& e) {
    return errorAt(name, e.pos, e.what);
  }
}

}  // namespace cairn::hcl
