#include "agent/flags.h"

#include <charconv>

namespace cairn::agent {
namespace {

template <typename T>
Status parseNumber(const std::string& text, T* target) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalidArgument("not a valid number");
  }
  *target = value;
  return Status::ok();
}

}  // namespace

void FlagSet::boolFlag(const std::string& name, bool* target) {
  flags_[name] = {true, [target](const std::string& v) {
                    if (v == "" || v == "true" || v == "1" || v == "t" || v == "TRUE" || v == "True") {
                      *target = true;
                    } else if (v == "false" || v == "0" || v == "f" || v == "FALSE" || v == "False") {
                      *target = false;
                    } else {
                      return invalidArgument("not a boolean");
                    }
                    return Status::ok();
                  }};
}

void FlagSet::stringFlag(const std::string& name, std::string* target) {
  flags_[name] = {false, [target](const std::string& v) {
                    *target = v;
                    return Status::ok();
                  }};
}

void FlagSet::intFlag(const std::string& name, int* target) {
  flags_[name] = {false, [target](const std::string& v) { return parseNumber(v, target); }};
}

void FlagSet::uint64Flag(const std::string& name, uint64_t* target) {
  flags_[name] = {false, [target](const std::string& v) { return parseNumber(v, target); }};
}

void FlagSet::listFlag(const std::string& name, std::vector<std::string>* target) {
  flags_[name] = {false, [target](const std::string& v) {
                    target->push_back(v);
                    return Status::ok();
                  }};
}

StatusOr<std::vector<std::string>> FlagSet::parse(const std::vector<std::string>& args) const {
  set_.clear();
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    size_t eq = body.find('=');
    std::string name = body.substr(0, eq);
    auto flag = flags_.find(name);
    if (flag == flags_.end()) return invalidArgument("flag provided but not defined: -" + name);
    std::string value;
    if (eq != std::string::npos) {
      value = body.substr(eq + 1);
    } else if (!flag->second.is_bool) {
      if (i + 1 >= args.size()) return invalidArgument("flag needs an argument: -" + name);
      value = args[++i];
    }
    if (Status s = flag->second.set(value); !s.isOk()) {
      return invalidArgument("invalid value \"" + value + "\" for flag -" + name + ": " + s.message());
    }
    set_[name] = true;
  }
  return std::vector<std::string>(args.begin() + static_cast<long>(i), args.end());
}

}  // namespace cairn::agent
