#include "core/config/flag_set.h"

#include <algorithm>
#include <limits>

#include "core/base/go_encoding.h"

namespace cairn::config {
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

}  // namespace cairn::config
