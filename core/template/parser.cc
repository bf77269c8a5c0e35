#include "core/template/parser.h"

#include <algorithm>
#include <functional>

#include "core/base/go_encoding.h"
#include "core/template/functions.h"

namespace cairn::tmpl {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool isAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isAlpha(c) || isDigit(c); }

enum class Tok {
  kText,
  kLeftDelim,
  kRightDelim,
  kLeftParen,
  kRightParen,
  kPipe,
  kComma,
  kDeclare,
  kAssign,
  kDot,
  kField,
  kVariable,
  kIdent,
  kString,
  kNumber,
  kBool,
  kNil,
  kEof,
};

struct Token {
  Tok kind = Tok::kEof;
  size_t offset = 0;
  std::string text;  // kText: the text; kString: decoded; kField: the name without '.'
  bool space_before = false;
  Value literal;  // kString, kNumber, kBool
};

// Lexes the whole template into tokens, applying the trim markers to the text tokens.
class Lexer {
 public:
  Lexer(std::string_view text, std::function<Status(size_t, std::string)> error)
      : text_(text), error_(std::move(error)) {}

  StatusOr<std::vector<Token>> run() {
    while (pos_ < text_.size()) {
      size_t open = text_.find("{{", pos_);
      std::string_view chunk =
          text_.substr(pos_, open == std::string_view::npos ? std::string_view::npos : open - pos_);
      if (open == std::string_view::npos) {
        emitText(pos_, chunk);
        pos_ = text_.size();
        break;
      }
      bool trim_left =
          text_.size() > open + 3 && text_[open + 2] == '-' && isSpace(text_[open + 3]);
      if (trim_left) {
        while (!chunk.empty() && isSpace(chunk.back())) chunk.remove_suffix(1);
      }
      emitText(pos_, chunk);
      pos_ = open + (trim_left ? 3 : 2);
      CAIRN_RETURN_IF_ERROR(lexAction(open));
    }
    tokens_.push_back(Token{Tok::kEof, text_.size(), "", false, {}});
    return std::move(tokens_);
  }

 private:
  void emitText(size_t offset, std::string_view chunk) {
    if (trim_next_) {
      while (!chunk.empty() && isSpace(chunk.front())) {
        chunk.remove_prefix(1);
        ++offset;
      }
      trim_next_ = false;
    }
    if (!chunk.empty()) tokens_.push_back(Token{Tok::kText, offset, std::string(chunk), false, {}});
  }

  // At a right delimiter ("}}" or a trim marker " -}}" whose space was already skipped)?
  size_t rightDelimAt(size_t p, bool* trim) const {
    if (text_.compare(p, 2, "}}") == 0) {
      *trim = false;
      return 2;
    }
    if (text_.compare(p, 3, "-}}") == 0 && p > 0 && isSpace(text_[p - 1])) {
      *trim = true;
      return 3;
    }
    return 0;
  }

  Status lexComment(size_t open) {
    size_t close = text_.find("*/", pos_ + 2);
    if (close == std::string_view::npos) return error_(pos_, "unclosed comment");
    pos_ = close + 2;
    size_t p = pos_;
    while (p < text_.size() && isSpace(text_[p])) ++p;
    bool trim = false;
    size_t len = rightDelimAt(p, &trim);
    if (len == 0 || (p != pos_ && !trim))
      return error_(open, "comment ends before closing delimiter");
    pos_ = p + len;
    trim_next_ = trim;
    return Status::ok();
  }

  Status lexAction(size_t open) {
    size_t start = pos_;
    while (pos_ < text_.size() && isSpace(text_[pos_])) ++pos_;
    if (text_.compare(pos_, 2, "/*") == 0) return lexComment(open);
    pos_ = start;
    tokens_.push_back(Token{Tok::kLeftDelim, open, "", false, {}});
    bool space = false;
    while (true) {
      if (pos_ >= text_.size()) return error_(open, "unclosed action");
      char c = text_[pos_];
      bool trim = false;
      if (size_t len = rightDelimAt(pos_, &trim)) {
        tokens_.push_back(Token{Tok::kRightDelim, pos_, "", space, {}});
        pos_ += len;
        trim_next_ = trim;
        return Status::ok();
      }
      if (isSpace(c)) {
        ++pos_;
        space = true;
        continue;
      }
      CAIRN_RETURN_IF_ERROR(lexToken(space));
      space = false;
    }
  }

  void push(Tok kind, size_t offset, std::string text, bool space, Value literal = {}) {
    tokens_.push_back(Token{kind, offset, std::move(text), space, std::move(literal)});
  }

  Status lexToken(bool space) {
    size_t at = pos_;
    char c = text_[pos_];
    char next = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    switch (c) {
      case '(':
        ++pos_;
        push(Tok::kLeftParen, at, "(", space);
        return Status::ok();
      case ')':
        ++pos_;
        push(Tok::kRightParen, at, ")", space);
        return Status::ok();
      case '|':
        ++pos_;
        push(Tok::kPipe, at, "|", space);
        return Status::ok();
      case ',':
        ++pos_;
        push(Tok::kComma, at, ",", space);
        return Status::ok();
      case '=':
        ++pos_;
        push(Tok::kAssign, at, "=", space);
        return Status::ok();
      case ':':
        if (next != '=') return error_(at, "expected :=");
        pos_ += 2;
        push(Tok::kDeclare, at, ":=", space);
        return Status::ok();
      case '"':
        return lexQuoted(space);
      case '`':
        return lexRaw(space);
      case '$': {
        ++pos_;
        while (pos_ < text_.size() && isAlnum(text_[pos_])) ++pos_;
        push(Tok::kVariable, at, std::string(text_.substr(at, pos_ - at)), space);
        return Status::ok();
      }
      case '.':
        if (isDigit(next)) return lexNumber(space);
        ++pos_;
        if (!isAlpha(next)) {
          push(Tok::kDot, at, ".", space);
          return Status::ok();
        }
        while (pos_ < text_.size() && isAlnum(text_[pos_])) ++pos_;
        push(Tok::kField, at, std::string(text_.substr(at + 1, pos_ - at - 1)), space);
        return Status::ok();
      default:
        break;
    }
    if (isDigit(c) || ((c == '-' || c == '+') && (isDigit(next) || next == '.'))) {
      return lexNumber(space);
    }
    if (isAlpha(c)) {
      while (pos_ < text_.size() && isAlnum(text_[pos_])) ++pos_;
      std::string word(text_.substr(at, pos_ - at));
      if (word == "true" || word == "false") {
        push(Tok::kBool, at, word, space, Value::boolean(word == "true"));
      } else if (word == "nil") {
        push(Tok::kNil, at, word, space);
      } else {
        push(Tok::kIdent, at, word, space);
      }
      return Status::ok();
    }
    if (c == '\'') return error_(at, "character constants are not supported");
    return error_(at, std::string("unexpected ") + goQuote(std::string(1, c)) + " in command");
  }

  Status lexQuoted(bool space) {
    size_t at = pos_;
    size_t p = pos_ + 1;
    while (p < text_.size() && text_[p] != '"' && text_[p] != '\n') {
      if (text_[p] == '\\') ++p;
      ++p;
    }
    if (p >= text_.size() || text_[p] != '"') return error_(at, "unterminated quoted string");
    auto decoded = goUnquote(text_.substr(at, p + 1 - at));
    if (!decoded.isOk()) return error_(at, "invalid syntax in quoted string");
    pos_ = p + 1;
    push(Tok::kString, at, *decoded, space, Value::string(*decoded));
    return Status::ok();
  }

  Status lexRaw(bool space) {
    size_t at = pos_;
    size_t close = text_.find('`', pos_ + 1);
    if (close == std::string_view::npos) return error_(at, "unterminated raw quoted string");
    std::string raw(text_.substr(at + 1, close - at - 1));
    pos_ = close + 1;
    push(Tok::kString, at, raw, space, Value::string(raw));
    return Status::ok();
  }

  Status lexNumber(bool space) {
    size_t at = pos_;
    if (text_[pos_] == '+' || text_[pos_] == '-') ++pos_;
    bool hex = text_.compare(pos_, 2, "0x") == 0 || text_.compare(pos_, 2, "0X") == 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      bool exp_sign =
          (c == '+' || c == '-') && !hex && (text_[pos_ - 1] == 'e' || text_[pos_ - 1] == 'E');
      if (!isAlnum(c) && c != '.' && !exp_sign) break;
      ++pos_;
    }
    std::string literal(text_.substr(at, pos_ - at));
    bool is_float = !hex && literal.find_first_of(".eE") != std::string::npos;
    if (!is_float) {
      auto i = parseGoInt(literal);
      if (!i.isOk()) return error_(at, "bad number syntax: " + goQuote(literal));
      push(Tok::kNumber, at, literal, space, Value::integer(*i));
      return Status::ok();
    }
    char* end = nullptr;
    double d = std::strtod(literal.c_str(), &end);
    if (end != literal.c_str() + literal.size()) {
      return error_(at, "bad number syntax: " + goQuote(literal));
    }
    push(Tok::kNumber, at, literal, space, Value::floating(d));
    return Status::ok();
  }

  std::string_view text_;
  std::function<Status(size_t, std::string)> error_;
  size_t pos_ = 0;
  bool trim_next_ = false;
  std::vector<Token> tokens_;
};

// How a list of nodes ended.
enum class End { kEof, kEnd, kElse };

class Parser {
 public:
  Parser(std::string_view text, std::string_view name) : text_(text), name_(name) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  StatusOr<NodeList> run() {
    auto tokens =
        Lexer(text_, [this](size_t at, std::string what) { return error(at, what); }).run();
    if (!tokens.isOk()) return tokens.status();
    tokens_ = std::move(*tokens);
    NodeList nodes;
    End end = End::kEof;
    CAIRN_RETURN_IF_ERROR(parseList(0, &nodes, &end));
    if (end == End::kEnd) return error(last_keyword_, "unexpected {{end}}");
    if (end == End::kElse) return error(last_keyword_, "unexpected {{else}}");
    return nodes;
  }

 private:
  Pos posAt(size_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    size_t line = static_cast<size_t>(it - line_starts_.begin());
    return Pos{static_cast<int>(line), static_cast<int>(offset - line_starts_[line - 1] + 1)};
  }
  Status error(size_t offset, const std::string& what) const {
    Pos p = posAt(offset);
    return invalidArgument(std::string(name_) + ":" + std::to_string(p.line) + ":" +
                           std::to_string(p.column) + ": " + what);
  }
  const Token& peek(size_t ahead = 0) const {
    return tokens_[std::min(next_ + ahead, tokens_.size() - 1)];
  }
  const Token& take() {
    const Token& t = peek();
    if (next_ < tokens_.size() - 1) ++next_;
    return t;
  }
  Status expectRightDelim(const char* context) {
    const Token& t = take();
    if (t.kind == Tok::kRightDelim) return Status::ok();
    return error(t.offset, std::string("unexpected ") + describe(t) + " in " + context);
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Tok::kEof:
        return "EOF";
      case Tok::kRightDelim:
        return "\"}}\"";
      case Tok::kLeftDelim:
        return "\"{{\"";
      case Tok::kField:
        return "<." + t.text + ">";
      default:
        return goQuote(t.text);
    }
  }

  // Parses nodes until EOF, {{end}} or {{else}} (consumed up to and excluding what follows
  // `else`).
  Status parseList(int depth, NodeList* out, End* end) {
    if (depth > kMaxTemplateDepth) return error(peek().offset, "template nesting too deep");
    while (true) {
      const Token& t = take();
      if (t.kind == Tok::kEof) {
        *end = End::kEof;
        return Status::ok();
      }
      if (t.kind == Tok::kText) {
        Node n;
        n.kind = Node::Kind::kText;
        n.pos = posAt(t.offset);
        n.text = t.text;
        out->push_back(std::move(n));
        continue;
      }
      // A left delimiter: an action.
      const Token& word = peek();
      if (word.kind == Tok::kIdent) {
        if (word.text == "end") {
          last_keyword_ = take().offset;
          CAIRN_RETURN_IF_ERROR(expectRightDelim("end"));
          *end = End::kEnd;
          return Status::ok();
        }
        if (word.text == "else") {
          last_keyword_ = take().offset;
          *end = End::kElse;
          return Status::ok();
        }
      }
      Node n;
      CAIRN_RETURN_IF_ERROR(parseAction(depth, &n));
      out->push_back(std::move(n));
    }
  }

  Status parseAction(int depth, Node* n) {
    const Token& word = peek();
    n->pos = posAt(word.offset);
    if (word.kind == Tok::kIdent) {
      const std::string& w = word.text;
      if (w == "if") return parseControl(Node::Kind::kIf, depth, n);
      if (w == "range") return parseControl(Node::Kind::kRange, depth, n);
      if (w == "with") return parseControl(Node::Kind::kWith, depth, n);
      if (w == "break" || w == "continue") {
        size_t at = take().offset;
        if (range_depth_ == 0) return error(at, "{{" + w + "}} outside {{range}}");
        n->kind = w == "break" ? Node::Kind::kBreak : Node::Kind::kContinue;
        return expectRightDelim(w.c_str());
      }
      if (w == "define" || w == "template" || w == "block") {
        return error(word.offset, "{{" + w + "}} is not supported (see docs/template.md)");
      }
    }
    n->kind = Node::Kind::kAction;
    CAIRN_RETURN_IF_ERROR(parsePipeline(depth, "command", false, &n->pipe));
    return expectRightDelim("command");
  }

  // if / range / with, after its keyword: the pipeline, the body, an else branch and {{end}}.
  Status parseControl(Node::Kind kind, int depth, Node* n) {
    const Token& keyword = take();
    std::string context = keyword.text;
    n->kind = kind;
    n->pos = posAt(keyword.offset);
    CAIRN_RETURN_IF_ERROR(parsePipeline(depth, context, kind == Node::Kind::kRange, &n->pipe));
    CAIRN_RETURN_IF_ERROR(expectRightDelim(context.c_str()));
    if (kind == Node::Kind::kRange) ++range_depth_;
    End end = End::kEof;
    Status s = parseList(depth + 1, &n->body, &end);
    if (kind == Node::Kind::kRange) --range_depth_;
    CAIRN_RETURN_IF_ERROR(s);
    if (end == End::kEof)
      return error(keyword.offset, "unexpected EOF: {{" + context + "}} has no {{end}}");
    if (end == End::kEnd) return Status::ok();
    // {{else}}, {{else if ...}} or {{else with ...}}: the chained form shares this {{end}}.
    const Token& after = peek();
    if (after.kind == Tok::kIdent && kind != Node::Kind::kRange &&
        ((after.text == "if" && kind == Node::Kind::kIf) ||
         (after.text == "with" && kind == Node::Kind::kWith))) {
      Node chained;
      CAIRN_RETURN_IF_ERROR(parseControl(after.text == "if" ? Node::Kind::kIf : Node::Kind::kWith,
                                         depth + 1, &chained));
      n->else_body.push_back(std::move(chained));
      return Status::ok();
    }
    CAIRN_RETURN_IF_ERROR(expectRightDelim("else"));
    // As in Go, the else of a range is outside the loop: break and continue are not allowed.
    s = parseList(depth + 1, &n->else_body, &end);
    CAIRN_RETURN_IF_ERROR(s);
    if (end == End::kEnd) return Status::ok();
    if (end == End::kElse) return error(last_keyword_, "expected {{end}}; found {{else}}");
    return error(keyword.offset, "unexpected EOF: {{" + context + "}} has no {{end}}");
  }

  // [decl :=] cmd | cmd ... up to (not including) "}}" or ")".
  Status parsePipeline(int depth, const std::string& context, bool range, Pipeline* p) {
    p->pos = posAt(peek().offset);
    CAIRN_RETURN_IF_ERROR(parseDecl(range, p));
    while (true) {
      Command cmd;
      cmd.pos = posAt(peek().offset);
      CAIRN_RETURN_IF_ERROR(parseCommand(depth, &cmd));
      if (cmd.args.empty()) return error(peek().offset, "missing value for " + context);
      p->cmds.push_back(std::move(cmd));
      if (peek().kind != Tok::kPipe) return Status::ok();
      take();
    }
  }

  Status parseDecl(bool range, Pipeline* p) {
    if (peek().kind != Tok::kVariable) return Status::ok();
    Tok after = peek(1).kind;
    if (after == Tok::kDeclare || after == Tok::kAssign) {
      p->decl.push_back(take().text);
      p->assign = take().kind == Tok::kAssign;
      return Status::ok();
    }
    if (after == Tok::kComma && range && peek(2).kind == Tok::kVariable &&
        (peek(3).kind == Tok::kDeclare || peek(3).kind == Tok::kAssign)) {
      p->decl.push_back(take().text);
      take();
      p->decl.push_back(take().text);
      p->assign = take().kind == Tok::kAssign;
      return Status::ok();
    }
    if (after == Tok::kComma) return error(peek(1).offset, "too many declarations");
    return Status::ok();
  }

  Status parseCommand(int depth, Command* cmd) {
    while (true) {
      Tok k = peek().kind;
      if (k == Tok::kPipe || k == Tok::kRightDelim || k == Tok::kRightParen) return Status::ok();
      if (!cmd->args.empty() && !peek().space_before) {
        return error(peek().offset, "missing space before " + describe(peek()));
      }
      Operand op;
      CAIRN_RETURN_IF_ERROR(parseOperand(depth, &op));
      cmd->args.push_back(std::move(op));
    }
  }

  Status parseOperand(int depth, Operand* op) {
    const Token& t = take();
    op->pos = posAt(t.offset);
    switch (t.kind) {
      case Tok::kString:
      case Tok::kNumber:
      case Tok::kBool:
        op->kind = Operand::Kind::kLiteral;
        op->literal = t.literal;
        break;
      case Tok::kNil:
        op->kind = Operand::Kind::kLiteral;
        break;
      case Tok::kDot:
        op->kind = Operand::Kind::kDot;
        break;
      case Tok::kField:
        op->kind = Operand::Kind::kField;
        op->fields.push_back(t.text);
        break;
      case Tok::kVariable:
        op->kind = Operand::Kind::kVariable;
        op->name = t.text;
        break;
      case Tok::kIdent:
        if (!isKnownFunction(t.text)) {
          return error(t.offset, "function " + goQuote(t.text) + " not defined");
        }
        op->kind = Operand::Kind::kFunction;
        op->name = t.text;
        break;
      case Tok::kLeftParen: {
        if (depth + 1 > kMaxTemplateDepth) return error(t.offset, "template nesting too deep");
        op->kind = Operand::Kind::kPipeline;
        op->nested = std::make_shared<Pipeline>();
        CAIRN_RETURN_IF_ERROR(
            parsePipeline(depth + 1, "parenthesized pipeline", false, op->nested.get()));
        const Token& close = take();
        if (close.kind != Tok::kRightParen) {
          return error(close.offset, "unclosed left paren");
        }
        break;
      }
      default:
        return error(t.offset, "unexpected " + describe(t) + " in operand");
    }
    // A field chain: fields written right after the operand, without a space.
    while (peek().kind == Tok::kField && !peek().space_before) {
      if (op->kind == Operand::Kind::kLiteral || op->kind == Operand::Kind::kFunction ||
          op->kind == Operand::Kind::kDot) {
        return error(peek().offset, "unexpected " + describe(peek()) + " after " + describe(t));
      }
      op->fields.push_back(take().text);
    }
    return Status::ok();
  }

  std::string_view text_;
  std::string_view name_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
  size_t next_ = 0;
  size_t last_keyword_ = 0;
  int range_depth_ = 0;
};

}  // namespace

StatusOr<NodeList> parseTemplate(std::string_view text, std::string_view name) {
  return Parser(text, name).run();
}

}  // namespace cairn::tmpl
