#pragma once
// FlagSet: command-line flags with Go's `flag` package syntax, which Consul's (and so Cairn's)
// commands use: `-name value`, `-name=value`, `--name`, bool flags without a value, parsing stops
// at the first non-flag argument or at "--". One parser serves the agent and every CLI command.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::agent {

class FlagSet {
 public:
  void boolFlag(const std::string& name, bool* target);
  void stringFlag(const std::string& name, std::string* target);
  void intFlag(const std::string& name, int* target);
  void uint64Flag(const std::string& name, uint64_t* target);
  void listFlag(const std::string& name, std::vector<std::string>* target);  // repeatable

  // Parses `args`; returns the positional arguments that follow the flags. Errors name the flag:
  // "flag provided but not defined: -x", "invalid value \"v\" for flag -n: ...".
  StatusOr<std::vector<std::string>> parse(const std::vector<std::string>& args) const;
  // True if `name` was given on the last parse().
  bool wasSet(const std::string& name) const { return set_.count(name) > 0; }

 private:
  struct Flag {
    bool is_bool = false;
    std::function<Status(const std::string&)> set;
  };
  std::map<std::string, Flag> flags_;
  mutable std::map<std::string, bool> set_;
};

}  // namespace cairn::agent
