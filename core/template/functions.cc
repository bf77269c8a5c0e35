#include "core/template/functions.h"

#include <algorithm>
#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <map>

#include "core/base/go_encoding.h"

namespace cairn::tmpl {
namespace {

using Args = std::vector<Value>;

Status wantArgs(const Args& args, size_t min, size_t max) {
  if (args.size() >= min && args.size() <= max) return Status::ok();
  std::string want = min == max        ? std::to_string(min)
                     : max == SIZE_MAX ? "at least " + std::to_string(min)
                                       : std::to_string(min) + " to " + std::to_string(max);
  return invalidArgument("wrong number of args: want " + want + " got " +
                         std::to_string(args.size()));
}

StatusOr<std::string> wantString(const Value& v, const char* what) {
  if (v.kind() == Value::Kind::kString) return v.asString();
  return invalidArgument(std::string(what) + ": expected string; got " + v.typeName());
}

// The strings of a variadic spec argument list ("web", "any" → "web|any").
StatusOr<std::string> joinedSpec(const Args& args, const char* sep) {
  std::string spec;
  for (size_t i = 0; i < args.size(); ++i) {
    auto s = wantString(args[i], "argument");
    if (!s.isOk()) return s.status();
    spec += (i ? sep : "") + *s;
  }
  return spec;
}

// ---- Consul data ----

// The data of the key named by args[0] (nullopt while not fetched; nil while it does not exist).
StatusOr<std::optional<Value>> keyData(FunctionContext& ctx, const Args& args, size_t count) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, count, count));
  auto path = wantString(args[0], "key");
  if (!path.isOk()) return path.status();
  auto dep = keyDependency(*path);
  if (!dep.isOk()) return dep.status();
  return ctx.data(*dep);
}

StatusOr<Value> fnKey(FunctionContext& ctx, const Args& args) {
  auto v = keyData(ctx, args, 1);
  if (!v.isOk()) return v.status();
  if (!*v) return Value::string("");
  if ((*v)->isNull()) {
    ctx.markIncomplete();  // consul-template's `key` waits until the key exists
    return Value::string("");
  }
  return **v;
}

StatusOr<Value> fnKeyExists(FunctionContext& ctx, const Args& args) {
  auto v = keyData(ctx, args, 1);
  if (!v.isOk()) return v.status();
  return Value::boolean(*v && !(*v)->isNull());
}

StatusOr<Value> fnKeyOrDefault(FunctionContext& ctx, const Args& args) {
  auto v = keyData(ctx, args, 2);
  if (!v.isOk()) return v.status();
  if (!*v || (*v)->isNull()) return args[1];
  return **v;
}

// ls keeps the keys directly under the prefix; tree every key but folder markers ("a/").
StatusOr<Value> keyList(FunctionContext& ctx, const Args& args, bool recursive) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  auto prefix = wantString(args[0], "prefix");
  if (!prefix.isOk()) return prefix.status();
  auto dep = keyListDependency(*prefix);
  if (!dep.isOk()) return dep.status();
  auto v = ctx.data(*dep);
  Value::List out;
  if (!v) return Value::list(std::move(out));
  for (const Value& pair : v->asList()) {
    const std::string& key = pair.asMap().at("Key").asString();
    if (key.empty()) continue;
    if (recursive ? key.back() == '/' : key.find('/') != std::string::npos) continue;
    out.push_back(pair);
  }
  return Value::list(std::move(out));
}

StatusOr<Value> fnLs(FunctionContext& ctx, const Args& args) { return keyList(ctx, args, false); }
StatusOr<Value> fnTree(FunctionContext& ctx, const Args& args) { return keyList(ctx, args, true); }

// The data of a dependency built from the joined string arguments; `missing` while unfetched.
StatusOr<Value> dataOf(FunctionContext& ctx, const Args& args, size_t min, size_t max,
                       const char* sep, StatusOr<Dependency> (*make)(std::string_view),
                       Value missing) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, min, max));
  auto spec = joinedSpec(args, sep);
  if (!spec.isOk()) return spec.status();
  auto dep = make(*spec);
  if (!dep.isOk()) return dep.status();
  auto v = ctx.data(*dep);
  return v ? *v : missing;
}

StatusOr<Value> fnService(FunctionContext& ctx, const Args& args) {
  return dataOf(ctx, args, 1, 2, "|", serviceDependency, Value::list({}));
}
StatusOr<Value> fnServices(FunctionContext& ctx, const Args& args) {
  return dataOf(ctx, args, 0, 1, "", servicesDependency, Value::list({}));
}
StatusOr<Value> fnNode(FunctionContext& ctx, const Args& args) {
  return dataOf(ctx, args, 0, 1, "", nodeDependency, Value());
}
StatusOr<Value> fnNodes(FunctionContext& ctx, const Args& args) {
  return dataOf(ctx, args, 0, 1, "", nodesDependency, Value::list({}));
}

StatusOr<Value> fnEnv(FunctionContext& ctx, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  auto name = wantString(args[0], "name");
  if (!name.isOk()) return name.status();
  return Value::string(ctx.env(*name).value_or(""));
}

// ---- JSON and strings ----

StatusOr<Value> fnToJson(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  auto s = toJson(args[0]);
  if (!s.isOk()) return s.status();
  return Value::string(std::move(*s));
}

StatusOr<Value> fnToJsonPretty(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  auto s = toJsonIndent(args[0], "  ");
  if (!s.isOk()) return s.status();
  return Value::string(std::move(*s));
}

StatusOr<Value> fnParseJson(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  auto s = wantString(args[0], "parseJSON");
  if (!s.isOk()) return s.status();
  if (s->empty()) return Value::map({});  // as consul-template
  return parseJson(*s);
}

StatusOr<Value> fnJoin(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 2, 2));
  auto sep = wantString(args[0], "join separator");
  if (!sep.isOk()) return sep.status();
  if (args[1].kind() != Value::Kind::kList) {
    return invalidArgument("join: expected a list; got " + args[1].typeName());
  }
  std::string out;
  bool first = true;
  for (const Value& item : args[1].asList()) {
    if (!first) out += *sep;
    first = false;
    out += item.format();
  }
  return Value::string(std::move(out));
}

StatusOr<Value> fnSplit(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 2, 2));
  auto sep = wantString(args[0], "split separator");
  if (!sep.isOk()) return sep.status();
  auto s = wantString(args[1], "split");
  if (!s.isOk()) return s.status();
  Value::List out;
  if (s->empty()) return Value::list(std::move(out));
  if (sep->empty()) {  // Go splits into UTF-8 sequences
    for (size_t i = 0; i < s->size();) {
      size_t len = std::max<size_t>(1, utf8Length(*s, i));
      out.push_back(Value::string(s->substr(i, len)));
      i += len;
    }
    return Value::list(std::move(out));
  }
  size_t start = 0;
  while (true) {
    size_t at = s->find(*sep, start);
    out.push_back(Value::string(s->substr(start, at == std::string::npos ? at : at - start)));
    if (at == std::string::npos) break;
    start = at + sep->size();
  }
  return Value::list(std::move(out));
}

StatusOr<Value> mapString(const Args& args, const char* what, std::string (*f)(std::string)) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  auto s = wantString(args[0], what);
  if (!s.isOk()) return s.status();
  return Value::string(f(std::move(*s)));
}

StatusOr<Value> fnToLower(FunctionContext&, const Args& args) {
  return mapString(args, "toLower", [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  });
}
StatusOr<Value> fnToUpper(FunctionContext&, const Args& args) {
  return mapString(args, "toUpper", [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  });
}
StatusOr<Value> fnToTitle(FunctionContext&, const Args& args) {
  return mapString(args, "toTitle", [](std::string s) {
    bool start = true;
    for (char& c : s) {
      bool letter = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '\'';
      if (start && letter) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = !letter;
    }
    return s;
  });
}
StatusOr<Value> fnTrimSpace(FunctionContext&, const Args& args) {
  return mapString(args, "trimSpace", [](std::string s) {
    auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!s.empty() && space(s.back())) s.pop_back();
    size_t i = 0;
    while (i < s.size() && space(s[i])) ++i;
    return s.substr(i);
  });
}

// consul-template's `contains v l`: l a list holding v, or a string containing v.
StatusOr<Value> fnContains(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 2, 2));
  const Value& needle = args[0];
  const Value& hay = args[1];
  if (hay.kind() == Value::Kind::kList) {
    for (const Value& item : hay.asList()) {
      if (item == needle) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (hay.kind() == Value::Kind::kString && needle.kind() == Value::Kind::kString) {
    return Value::boolean(hay.asString().find(needle.asString()) != std::string::npos);
  }
  if (hay.isNull()) return Value::boolean(false);
  return invalidArgument("contains: cannot look for " + needle.typeName() + " in " +
                         hay.typeName());
}

StatusOr<Value> fnReplaceAll(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 3, 3));
  auto from = wantString(args[0], "replaceAll old");
  auto to = wantString(args[1], "replaceAll new");
  auto s = wantString(args[2], "replaceAll");
  if (!from.isOk()) return from.status();
  if (!to.isOk()) return to.status();
  if (!s.isOk()) return s.status();
  if (from->empty()) return Value::string(*s);
  std::string out;
  size_t start = 0;
  for (size_t at; (at = s->find(*from, start)) != std::string::npos; start = at + from->size()) {
    out += s->substr(start, at - start) + *to;
  }
  out += s->substr(start);
  return Value::string(std::move(out));
}

// ---- Go builtins ----

StatusOr<Value> fnLen(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  const Value& v = args[0];
  switch (v.kind()) {
    case Value::Kind::kString:
      return Value::integer(static_cast<int64_t>(v.asString().size()));
    case Value::Kind::kList:
      return Value::integer(static_cast<int64_t>(v.asList().size()));
    case Value::Kind::kMap:
      if (!v.isRecord()) return Value::integer(static_cast<int64_t>(v.asMap().size()));
      break;
    default:
      break;
  }
  return invalidArgument("len of type " + v.typeName());
}

StatusOr<Value> indexOne(const Value& item, const Value& key) {
  if (item.kind() == Value::Kind::kList) {
    bool integral =
        key.kind() == Value::Kind::kInt ||
        (key.kind() == Value::Kind::kFloat && std::trunc(key.asDouble()) == key.asDouble());
    if (!integral) return invalidArgument("cannot index slice/array with type " + key.typeName());
    double i = key.asDouble();
    const auto& list = item.asList();
    if (i < 0 || i >= static_cast<double>(list.size())) {
      return invalidArgument("index out of range: " + key.format());
    }
    return list[static_cast<size_t>(i)];
  }
  if (item.kind() == Value::Kind::kMap) {
    if (key.kind() != Value::Kind::kString) {
      return invalidArgument("value has type " + key.typeName() + "; should be string");
    }
    auto it = item.asMap().find(key.asString());
    return it == item.asMap().end() ? Value() : it->second;
  }
  if (item.isNull()) return invalidArgument("index of untyped nil");
  return invalidArgument("can't index item of type " + item.typeName());
}

StatusOr<Value> fnIndex(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, SIZE_MAX));
  Value item = args[0];
  for (size_t i = 1; i < args.size(); ++i) {
    auto next = indexOne(item, args[i]);
    if (!next.isOk()) return next.status();
    item = std::move(*next);
  }
  return item;
}

StatusOr<Value> fnNot(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, 1));
  return Value::boolean(!args[0].truthy());
}

// Used only when and/or are called without the renderer's lazy path (never, today).
StatusOr<Value> fnAnd(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, SIZE_MAX));
  for (const Value& v : args) {
    if (!v.truthy()) return v;
  }
  return args.back();
}
StatusOr<Value> fnOr(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, SIZE_MAX));
  for (const Value& v : args) {
    if (v.truthy()) return v;
  }
  return args.back();
}

bool basic(const Value& v) {
  return v.kind() != Value::Kind::kList && v.kind() != Value::Kind::kMap;
}

StatusOr<bool> equal(const Value& a, const Value& b) {
  if (!basic(a) || !basic(b))
    return invalidArgument("non-comparable type " + (basic(a) ? b : a).typeName());
  if (a.isNumber() && b.isNumber()) return a == b;
  if (a.isNull() || b.isNull()) return a.isNull() && b.isNull();
  if (a.kind() != b.kind()) return invalidArgument("incompatible types for comparison");
  return a == b;
}

StatusOr<Value> fnEq(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 2, SIZE_MAX));
  for (size_t i = 1; i < args.size(); ++i) {
    auto eq = equal(args[0], args[i]);
    if (!eq.isOk()) return eq.status();
    if (*eq) return Value::boolean(true);
  }
  return Value::boolean(false);
}

StatusOr<Value> fnNe(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 2, 2));
  auto eq = equal(args[0], args[1]);
  if (!eq.isOk()) return eq.status();
  return Value::boolean(!*eq);
}

// -1, 0 or 1 for two numbers or two strings.
StatusOr<int> order(const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 2, 2));
  const Value& a = args[0];
  const Value& b = args[1];
  if (a.isNumber() && b.isNumber()) {
    if (a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt) {
      return a.asInt() < b.asInt() ? -1 : a.asInt() > b.asInt() ? 1 : 0;
    }
    return a.asDouble() < b.asDouble() ? -1 : a.asDouble() > b.asDouble() ? 1 : 0;
  }
  if (a.kind() == Value::Kind::kString && b.kind() == Value::Kind::kString) {
    int c = a.asString().compare(b.asString());
    return c < 0 ? -1 : c > 0 ? 1 : 0;
  }
  if (a.kind() != b.kind()) return invalidArgument("incompatible types for comparison");
  return invalidArgument("invalid type for comparison");
}

template <bool (*Test)(int)>
StatusOr<Value> fnOrder(FunctionContext&, const Args& args) {
  auto c = order(args);
  if (!c.isOk()) return c.status();
  return Value::boolean(Test(*c));
}
bool isLt(int c) { return c < 0; }
bool isLe(int c) { return c <= 0; }
bool isGt(int c) { return c > 0; }
bool isGe(int c) { return c >= 0; }

// fmt.Sprint: a space between operands when neither is a string.
StatusOr<Value> fnPrint(FunctionContext&, const Args& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && args[i].kind() != Value::Kind::kString &&
        args[i - 1].kind() != Value::Kind::kString) {
      out += ' ';
    }
    out += args[i].format();
  }
  return Value::string(std::move(out));
}

StatusOr<Value> fnPrintln(FunctionContext&, const Args& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) out += (i ? " " : "") + args[i].format();
  return Value::string(out + "\n");
}

StatusOr<Value> fnPrintf(FunctionContext&, const Args& args) {
  CAIRN_RETURN_IF_ERROR(wantArgs(args, 1, SIZE_MAX));
  auto format = wantString(args[0], "printf format");
  if (!format.isOk()) return format.status();
  return Value::string(goSprintf(*format, Args(args.begin() + 1, args.end())));
}

const std::map<std::string, Function, std::less<>>& table() {
  static const std::map<std::string, Function, std::less<>> kTable = {
      {"key", fnKey},
      {"keyExists", fnKeyExists},
      {"keyOrDefault", fnKeyOrDefault},
      {"ls", fnLs},
      {"tree", fnTree},
      {"service", fnService},
      {"services", fnServices},
      {"node", fnNode},
      {"nodes", fnNodes},
      {"env", fnEnv},
      {"toJSON", fnToJson},
      {"toJSONPretty", fnToJsonPretty},
      {"parseJSON", fnParseJson},
      {"join", fnJoin},
      {"split", fnSplit},
      {"toLower", fnToLower},
      {"toUpper", fnToUpper},
      {"toTitle", fnToTitle},
      {"trimSpace", fnTrimSpace},
      {"contains", fnContains},
      {"replaceAll", fnReplaceAll},
      {"len", fnLen},
      {"index", fnIndex},
      {"not", fnNot},
      {"and", fnAnd},
      {"or", fnOr},
      {"eq", fnEq},
      {"ne", fnNe},
      {"lt", fnOrder<isLt>},
      {"le", fnOrder<isLe>},
      {"gt", fnOrder<isGt>},
      {"ge", fnOrder<isGe>},
      {"print", fnPrint},
      {"println", fnPrintln},
      {"printf", fnPrintf},
  };
  return kTable;
}

// ---- printf ----

struct Spec {
  bool minus = false, plus = false, space = false, zero = false, sharp = false;
  int width = -1;
  int precision = -1;
};

std::string mismatch(char verb, const Value& v) {
  if (v.isNull()) return std::string("%!") + verb + "(<nil>)";
  return std::string("%!") + verb + "(" + v.typeName() + "=" + v.format() + ")";
}

std::string cFormat(const Spec& s, char verb, double d) {
  std::string f = "%";
  if (s.plus) f += '+';
  if (s.space) f += ' ';
  if (s.sharp) f += '#';
  if (s.precision >= 0) f += "." + std::to_string(s.precision);
  f += verb;
  char buf[512];
  int n = std::snprintf(buf, sizeof(buf), f.c_str(), d);
  return std::string(buf, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1) : 0);
}

std::string intFormat(const Spec& s, char verb, int64_t i) {
  bool neg = i < 0;
  uint64_t u = neg ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
  std::string digits;
  char buf[32];
  if (verb == 'x' || verb == 'X') {
    std::snprintf(buf, sizeof(buf), verb == 'x' ? "%" PRIx64 : "%" PRIX64, u);
  } else if (verb == 'o') {
    std::snprintf(buf, sizeof(buf), "%" PRIo64, u);
  } else if (verb == 'b') {
    std::string b;
    for (uint64_t v = u; v; v >>= 1) b.insert(b.begin(), static_cast<char>('0' + (v & 1)));
    std::snprintf(buf, sizeof(buf), "%s", b.empty() ? "0" : b.c_str());
  } else {
    std::snprintf(buf, sizeof(buf), "%" PRIu64, u);
  }
  digits = buf;
  if (s.precision >= 0 && static_cast<int>(digits.size()) < s.precision) {
    digits.insert(0, static_cast<size_t>(s.precision) - digits.size(), '0');
  }
  if (s.sharp && (verb == 'x' || verb == 'X')) digits.insert(0, verb == 'x' ? "0x" : "0X");
  return (neg ? "-" : s.plus ? "+" : s.space ? " " : "") + digits;
}

std::string hexBytes(const std::string& bytes, bool upper) {
  static const char* kLower = "0123456789abcdef";
  static const char* kUpper = "0123456789ABCDEF";
  const char* digits = upper ? kUpper : kLower;
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// One argument under one verb; `numeric` tells the caller zero padding applies.
std::string formatArg(const Spec& s, char verb, const Value& v, bool* numeric) {
  *numeric = v.isNumber();
  if (v.kind() == Value::Kind::kList && verb != 'v' && verb != 's' && verb != 'q') {
    std::string out = "[";
    for (size_t i = 0; i < v.asList().size(); ++i) {
      bool ignored;
      out += (i ? " " : "") + formatArg(s, verb, v.asList()[i], &ignored);
    }
    *numeric = false;
    return out + "]";
  }
  switch (verb) {
    case 'v':
      if (v.kind() == Value::Kind::kFloat && s.precision >= 0) return cFormat(s, 'g', v.asDouble());
      if (v.kind() == Value::Kind::kInt) return intFormat(s, 'd', v.asInt());
      return v.format();
    case 's':
      if (v.kind() == Value::Kind::kString) {
        return s.precision >= 0 ? v.asString().substr(0, static_cast<size_t>(s.precision))
                                : v.asString();
      }
      if (v.kind() == Value::Kind::kList) return v.format();
      return mismatch(verb, v);
    case 'q':
      if (v.kind() == Value::Kind::kString) return goQuote(v.asString());
      return mismatch(verb, v);
    case 'd':
    case 'o':
    case 'b':
      if (v.kind() == Value::Kind::kInt) return intFormat(s, verb, v.asInt());
      return mismatch(verb, v);
    case 'x':
    case 'X':
      if (v.kind() == Value::Kind::kInt) return intFormat(s, verb, v.asInt());
      if (v.kind() == Value::Kind::kString) return hexBytes(v.asString(), verb == 'X');
      return mismatch(verb, v);
    case 'c':
      if (v.kind() == Value::Kind::kInt && v.asInt() >= 0 && v.asInt() <= 0x10FFFF) {
        std::string out;
        appendUtf8(static_cast<uint32_t>(v.asInt()), out);
        return out;
      }
      return mismatch(verb, v);
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
      if (v.kind() == Value::Kind::kFloat) {
        Spec fs = s;
        if (fs.precision < 0 && (verb == 'f' || verb == 'F' || verb == 'e' || verb == 'E')) {
          fs.precision = 6;
        }
        if (verb == 'g' && s.precision < 0) return formatGoFloat(v.asDouble());
        return cFormat(fs, verb, v.asDouble());
      }
      return mismatch(verb, v);
    case 't':
      if (v.kind() == Value::Kind::kBool) return v.format();
      return mismatch(verb, v);
    default:
      return mismatch(verb, v);
  }
}

std::string pad(const std::string& body, const Spec& s, bool numeric) {
  if (s.width < 0 || static_cast<int>(body.size()) >= s.width) return body;
  size_t fill = static_cast<size_t>(s.width) - body.size();
  if (s.minus) return body + std::string(fill, ' ');
  if (s.zero && numeric) {
    size_t sign = (!body.empty() && (body[0] == '-' || body[0] == '+' || body[0] == ' ')) ? 1 : 0;
    return body.substr(0, sign) + std::string(fill, '0') + body.substr(sign);
  }
  return std::string(fill, ' ') + body;
}

// Reads a decimal number at format[*i]; -1 when there is none, -2 when it is too large.
int readNumber(std::string_view format, size_t* i) {
  if (*i >= format.size() || !std::isdigit(static_cast<unsigned char>(format[*i]))) return -1;
  int64_t n = 0;
  while (*i < format.size() && std::isdigit(static_cast<unsigned char>(format[*i]))) {
    n = n * 10 + (format[(*i)++] - '0');
    if (n > 1'000'000) return -2;  // Go's limit too
  }
  return static_cast<int>(n);
}

}  // namespace

Function findFunction(std::string_view name) {
  auto it = table().find(name);
  return it == table().end() ? nullptr : it->second;
}

bool isKnownFunction(std::string_view name) { return findFunction(name) != nullptr; }

std::string goSprintf(std::string_view format, const std::vector<Value>& args) {
  std::string out;
  size_t next_arg = 0;
  for (size_t i = 0; i < format.size();) {
    if (format[i] != '%') {
      out += format[i++];
      continue;
    }
    ++i;
    Spec s;
    for (; i < format.size(); ++i) {
      char c = format[i];
      if (c == '-') {
        s.minus = true;
      } else if (c == '+') {
        s.plus = true;
      } else if (c == ' ') {
        s.space = true;
      } else if (c == '0') {
        s.zero = true;
      } else if (c == '#') {
        s.sharp = true;
      } else {
        break;
      }
    }
    s.width = readNumber(format, &i);
    if (i < format.size() && format[i] == '.') {
      ++i;
      s.precision = readNumber(format, &i);
      if (s.precision == -1) s.precision = 0;
    }
    if (s.width == -2 || s.precision == -2) {
      out += "%!(BADWIDTH)";
      while (i < format.size() && std::isdigit(static_cast<unsigned char>(format[i]))) ++i;
      continue;
    }
    if (i >= format.size()) {
      out += "%!(NOVERB)";
      break;
    }
    char verb = format[i++];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next_arg >= args.size()) {
      out += std::string("%!") + verb + "(MISSING)";
      continue;
    }
    bool numeric = false;
    std::string body = formatArg(s, verb, args[next_arg++], &numeric);
    out += pad(body, s, numeric);
  }
  if (next_arg < args.size()) {
    out += "%!(EXTRA ";
    for (size_t i = next_arg; i < args.size(); ++i) {
      out += (i > next_arg ? ", " : "") + args[i].typeName() + "=" + args[i].format();
    }
    out += ")";
  }
  return out;
}

}  // namespace cairn::tmpl
