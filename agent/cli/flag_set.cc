#include "agent/cli/flag_set.h"

#include <algorithm>
#include <limits>

namespace cairn::cli {
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

std::string goQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void FlagSet::add(std::string name, std::string value_name, std::string usage, Setter setter,
                  bool is_bool) {
  flags_.push_back(Flag{std::move(name), std::move(value_name), std::move(usage), std::move(setter),
                        is_bool, false});
}

void FlagSet::addBool(std::string name, bool* target, std::string usage) {
  add(
      std::move(name), "", std::move(usage),
      [target](std::string_view v) {
        return parseGoBool(v, target) ? Status::ok() : invalidArgument("parse error");
      },
      true);
}

void FlagSet::addString(std::string name, std::string* target, std::string usage) {
  add(std::move(name), "string", std::move(usage), [target](std::string_view v) {
    *target = std::string(v);
    return Status::ok();
  });
}

void FlagSet::addStringList(std::string name, std::vector<std::string>* target, std::string usage) {
  add(std::move(name), "value", std::move(usage), [target](std::string_view v) {
    target->emplace_back(v);
    return Status::ok();
  });
}

void FlagSet::addInt(std::string name, int* target, std::string usage) {
  add(std::move(name), "int", std::move(usage), [target](std::string_view v) -> Status {
    auto n = parseGoInt(v);
    if (!n.isOk()) return n.status();
    if (*n < std::numeric_limits<int>::min() || *n > std::numeric_limits<int>::max()) {
      return invalidArgument("value out of range");
    }
    *target = static_cast<int>(*n);
    return Status::ok();
  });
}

void FlagSet::addUint64(std::string name, uint64_t* target, std::string usage) {
  add(std::move(name), "uint", std::move(usage), [target](std::string_view v) -> Status {
    auto n = parseGoUint(v);
    if (!n.isOk()) return n.status();
    *target = *n;
    return Status::ok();
  });
}

FlagSet::Flag* FlagSet::find(std::string_view name) {
  for (Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool FlagSet::isSet(std::string_view name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return f.set;
  }
  return false;
}

Status FlagSet::parse(const std::vector<std::string>& args) {
  args_ = args;
  help_ = false;
  size_t pos = 0;
  bool done = false;
  while (!done && pos < args_.size()) {
    CAIRN_RETURN_IF_ERROR(parseOne(&pos, &done));
  }
  args_.erase(args_.begin(), args_.begin() + static_cast<std::ptrdiff_t>(pos));
  return Status::ok();
}

Status FlagSet::parseOne(size_t* pos, bool* done) {
  const std::string s = args_[*pos];
  if (s.size() < 2 || s[0] != '-' || s == "--") {
    if (s == "--") ++*pos;
    *done = true;
    return Status::ok();
  }
  size_t minuses = s[1] == '-' ? 2 : 1;
  std::string name = s.substr(minuses);
  if (name.empty() || name[0] == '-' || name[0] == '=') {
    return invalidArgument("bad flag syntax: " + s);
  }
  ++*pos;
  std::string value;
  size_t eq = name.find('=');
  bool has_value = eq != std::string::npos;
  if (has_value) {
    value = name.substr(eq + 1);
    name.resize(eq);
  }
  Flag* flag = find(name);
  if (flag == nullptr) {
    if (name == "h" || name == "help") {
      help_ = *done = true;
      return Status::ok();
    }
    return invalidArgument("flag provided but not defined: -" + name);
  }
  if (flag->is_bool) {
    if (Status st = flag->setter(has_value ? value : "true"); !st.isOk()) {
      return invalidArgument("invalid boolean value " + goQuote(value) + " for -" + name + ": " +
                             st.message());
    }
  } else {
    if (!has_value && *pos < args_.size()) {
      value = args_[(*pos)++];
      has_value = true;
    }
    if (!has_value) return invalidArgument("flag needs an argument: -" + name);
    if (Status st = flag->setter(value); !st.isOk()) {
      return invalidArgument("invalid value " + goQuote(value) + " for flag -" + name + ": " +
                             st.message());
    }
  }
  flag->set = true;
  return Status::ok();
}

std::string FlagSet::usage() const {
  std::vector<const Flag*> sorted;
  for (const Flag& f : flags_) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(),
            [](const Flag* a, const Flag* b) { return a->name < b->name; });
  std::string out;
  for (const Flag* f : sorted) {
    out += "  -" + f->name + (f->value_name.empty() ? "" : "=<" + f->value_name + ">") + "\n";
    out += "      " + f->usage + "\n";
  }
  return out;
}

}  // namespace cairn::cli
