#include "core/filter/parser.h"

#include <cstdio>
#include <optional>
#include <utility>

#include "core/filter/literal.h"

namespace cairn::filter::internal {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isIdentChar(char c) { return isIdentStart(c) || isDigit(c) || c == '_' || c == '/'; }

// A character for an error message: printable ASCII as is, anything else as \xNN.
std::string describeChar(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
  return buf;
}

std::string joinPath(const std::vector<std::string>& path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    if (i > 0) out.push_back('.');
    out += path[i];
  }
  return out;
}

// Recursive descent over the characters of one expression. Every parse* function returns false
// after recording the first error; the caller stops at once.
class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  StatusOr<Node> run() {
    Node root;
    if (parseOr(root)) {
      skipSpace();
      if (pos_ < in_.size()) {
        fail(pos_, in_[pos_] == ')'
                       ? "Unmatched parentheses"
                       : "unexpected " + describeChar(in_[pos_]) +
                             ": expected \"and\", \"or\" or the end of the expression");
      }
    }
    if (error_) return *error_;
    return root;
  }

 private:
  bool fail(size_t at, const std::string& message) {
    if (error_) return false;
    size_t line = 1, line_start = 0;
    for (size_t i = 0; i < at && i < in_.size(); ++i) {
      if (in_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    error_ = invalidArgument(std::to_string(line) + ":" + std::to_string(at - line_start + 1) +
                             " (" + std::to_string(at) + "): " + message);
    return false;
  }

  bool atEnd() const { return pos_ >= in_.size(); }
  char peek() const { return atEnd() ? '\0' : in_[pos_]; }
  void skipSpace() {
    while (!atEnd() && isSpace(in_[pos_])) ++pos_;
  }

  // The identifier-like word starting at pos_ (empty when there is none).
  std::string_view peekWord() const {
    if (atEnd() || !isIdentStart(in_[pos_])) return {};
    size_t end = pos_ + 1;
    while (end < in_.size() && isIdentChar(in_[end])) ++end;
    return in_.substr(pos_, end - pos_);
  }

  // Consumes `word` (after whitespace) when it is the next word; otherwise consumes nothing.
  bool acceptWord(std::string_view word) {
    size_t saved = pos_;
    skipSpace();
    if (peekWord() == word) {
      pos_ += word.size();
      return true;
    }
    pos_ = saved;
    return false;
  }

  // `kind` is kOr (operands are `and` chains) or kAnd (operands are unary terms).
  bool parseChain(Node& out, Node::Kind kind, std::string_view keyword) {
    auto parseOperand = [this, kind](Node& operand) {
      return kind == Node::Kind::kOr ? parseChain(operand, Node::Kind::kAnd, "and")
                                     : parseUnary(operand);
    };
    std::vector<Node> operands(1);
    if (!parseOperand(operands.back())) return false;
    while (acceptWord(keyword)) {
      if (!parseOperand(operands.emplace_back())) return false;
    }
    if (operands.size() == 1) {
      out = std::move(operands.front());
    } else {
      out.kind = kind;
      out.children = std::move(operands);
    }
    return true;
  }

  bool parseOr(Node& out) { return parseChain(out, Node::Kind::kOr, "or"); }

  // `not` binds tighter than `and`; an even number of them cancels out (as in go-bexpr).
  bool parseUnary(Node& out) {
    bool negate = false;
    while (acceptWord("not")) negate = !negate;
    Node operand;
    if (!parsePrimary(operand)) return false;
    if (!negate) {
      out = std::move(operand);
      return true;
    }
    out.kind = Node::Kind::kNot;
    out.children.push_back(std::move(operand));
    return true;
  }

  bool parsePrimary(Node& out) {
    skipSpace();
    if (peek() != '(') {
      out.kind = Node::Kind::kMatch;
      return parseMatch(out.match);
    }
    size_t open = pos_++;
    if (++depth_ > kMaxNestingDepth) {
      return fail(open, "expression is nested too deeply (more than " +
                            std::to_string(kMaxNestingDepth) + " levels)");
    }
    if (!parseOr(out)) return false;
    skipSpace();
    if (peek() != ')') return fail(open, "Unmatched parentheses");
    ++pos_;
    --depth_;
    return true;
  }

  bool parseMatch(Match& m) {
    skipSpace();
    if (atEnd()) return fail(pos_, "unexpected end of expression: expected a selector or value");
    char c = peek();
    if (c == '"' || c == '`' || isDigit(c) || c == '-') {
      if (!parseValue(m.value)) return false;
      return parseInThenSelector(m);
    }
    if (!isIdentStart(c)) {
      return fail(pos_, "unexpected " + describeChar(c) + ": expected a selector or value");
    }
    std::vector<std::string> selector;
    if (!parseSelector(selector)) return false;
    return parseOperator(m, std::move(selector));
  }

  // After a value: `in` / `not in` and the selector they look into.
  bool parseInThenSelector(Match& m) {
    size_t at = pos_;
    m.negated = acceptWord("not");
    if (!acceptWord("in")) return fail(at, "expected \"in\" or \"not in\" after a value");
    return parseSelectorAfterIn(m);
  }

  bool parseSelectorAfterIn(Match& m) {
    m.op = MatchOp::kIn;
    skipSpace();
    if (!isIdentStart(peek())) return fail(pos_, "Invalid selector");
    return parseSelector(m.selector);
  }

  bool parseOperator(Match& m, std::vector<std::string> selector) {
    skipSpace();
    size_t at = pos_;
    if (in_.substr(pos_, 2) == "==" || in_.substr(pos_, 2) == "!=") {
      m.negated = in_[pos_] == '!';
      pos_ += 2;
      m.selector = std::move(selector);
      return parseValue(m.value);
    }
    if (acceptWord("is")) {
      m.op = MatchOp::kIsEmpty;
      m.negated = acceptWord("not");
      if (!acceptWord("empty")) return fail(at, "expected \"is empty\" or \"is not empty\"");
      m.selector = std::move(selector);
      return true;
    }
    m.negated = acceptWord("not");
    if (acceptWord("in")) {
      m.value = joinPath(selector);
      return parseSelectorAfterIn(m);
    }
    if (acceptWord("contains")) return parseOperand(m, MatchOp::kIn, std::move(selector));
    if (acceptWord("matches")) return parseOperand(m, MatchOp::kMatches, std::move(selector));
    if (m.negated) return fail(at, "expected \"in\", \"contains\" or \"matches\" after \"not\"");
    if (atEnd()) return fail(pos_, "missing operator after selector");
    return fail(at,
                "unknown operator: expected ==, !=, in, not in, contains, not contains, "
                "matches, not matches, is empty or is not empty");
  }

  // The value after `contains` / `matches` (a regular expression is compiled here, once).
  bool parseOperand(Match& m, MatchOp op, std::vector<std::string> selector) {
    m.op = op;
    m.selector = std::move(selector);
    skipSpace();
    size_t value_at = pos_;
    if (!parseValue(m.value)) return false;
    return op != MatchOp::kMatches || compileRegex(m, value_at);
  }

  bool compileRegex(Match& m, size_t at) {
    if (++regex_count_ > kMaxRegexes) {
      return fail(at,
                  "too many regular expressions (more than " + std::to_string(kMaxRegexes) + ")");
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(kMaxRegexMemoryBytes);
    auto regex = std::make_shared<const RE2>(m.value, options);
    if (!regex->ok()) {
      return fail(at, "Failed to compile regular expression: " + regex->error());
    }
    m.regex = std::move(regex);
    return true;
  }

  // A quoted string, a number or a bare selector-like word (taken as its dotted text).
  bool parseValue(std::string& out) {
    skipSpace();
    if (atEnd()) return fail(pos_, "missing value");
    char c = peek();
    if (c == '"' || c == '`') return parseString(out);
    if (isDigit(c) || c == '-') return parseNumber(out);
    if (isIdentStart(c)) {
      std::vector<std::string> path;
      if (!parseSelector(path)) return false;
      out = joinPath(path);
      return true;
    }
    return fail(pos_, "unexpected " + describeChar(c) +
                          ": expected a value (a quoted string, a number or a bare word)");
  }

  // go-bexpr's NumberLiteral: -?(0|[1-9][0-9]*)(\.[0-9]+)? followed by space, ')' or the end.
  bool parseNumber(std::string& out) {
    size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (!isDigit(peek())) return fail(start, "Invalid number literal");
    if (peek() == '0') {
      ++pos_;
    } else {
      while (isDigit(peek())) ++pos_;
    }
    if (peek() == '.' && pos_ + 1 < in_.size() && isDigit(in_[pos_ + 1])) {
      ++pos_;
      while (isDigit(peek())) ++pos_;
    }
    if (!atEnd() && !isSpace(peek()) && peek() != ')') return fail(start, "Invalid number literal");
    out = std::string(in_.substr(start, pos_ - start));
    return true;
  }

  bool parseString(std::string& out) {
    size_t start = pos_;
    char quote = in_[pos_];
    size_t i = pos_ + 1;
    while (i < in_.size() && in_[i] != quote) i += (quote == '"' && in_[i] == '\\') ? 2 : 1;
    if (i >= in_.size()) return fail(start, "Unterminated string literal");
    std::string_view body = in_.substr(start + 1, i - start - 1);
    pos_ = i + 1;
    if (quote == '`') {
      out = unquoteRaw(body);
      return true;
    }
    auto decoded = unquoteDouble(body);
    if (!decoded) return fail(start, "invalid escape sequence or newline in string literal");
    out = std::move(*decoded);
    return true;
  }

  // Identifier ( "." Identifier | "." Digits | "[" String "]" )*; the caller checked the start.
  bool parseSelector(std::vector<std::string>& out) {
    std::string_view first = peekWord();
    out.emplace_back(first);
    pos_ += first.size();
    while (!atEnd()) {
      if (peek() == '.') {
        ++pos_;
        if (!parsePathPart(out)) return false;
      } else if (peek() == '[') {
        if (!parseIndex(out)) return false;
      } else {
        break;
      }
    }
    return true;
  }

  bool parsePathPart(std::vector<std::string>& out) {
    std::string_view word = peekWord();
    if (word.empty() && isDigit(peek())) {
      size_t end = pos_;
      while (end < in_.size() && isDigit(in_[end])) ++end;
      word = in_.substr(pos_, end - pos_);
    }
    if (word.empty()) return fail(pos_, "expected a field name or index after '.'");
    out.emplace_back(word);
    pos_ += word.size();
    return true;
  }

  bool parseIndex(std::vector<std::string>& out) {
    ++pos_;
    skipSpace();
    if (peek() != '"' && peek() != '`') return fail(pos_, "Invalid index");
    std::string key;
    if (!parseString(key)) return false;
    skipSpace();
    if (peek() != ']') return fail(pos_, "Unclosed index expression");
    ++pos_;
    out.push_back(std::move(key));
    return true;
  }

  std::string_view in_;
  size_t pos_ = 0;
  int depth_ = 0;
  int regex_count_ = 0;
  std::optional<Status> error_;
};

}  // namespace

StatusOr<Node> parseExpression(std::string_view expression) {
  if (expression.size() > kMaxExpressionBytes) {
    return invalidArgument("expression is longer than " + std::to_string(kMaxExpressionBytes) +
                           " bytes");
  }
  bool blank = true;
  for (char c : expression) blank = blank && isSpace(c);
  if (blank) return invalidArgument("empty expression");
  return Parser(expression).run();
}

}  // namespace cairn::filter::internal
