#pragma once
// FlagSet: command-line flags parsed exactly like Go's `flag` package (which `consul` uses), shared
// by `cairn agent` and every CLI subcommand.
//
// Syntax: `-name value`, `-name=value`, `--name` forms alike; boolean flags take no separate value
// (`-dev`, `-dev=false`). Parsing stops at the first non-flag argument, at a lone `-`, or after
// `--` (which is consumed). `-h`, `-help` (unless defined) stop parsing and request help.
// Not thread-safe; one FlagSet per parse.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/status.h"

namespace cairn::config {

class FlagSet {
 public:
  // Receives the flag's value; returns an error whose message explains the problem (Go: "parse
  // error", "value out of range").
  using Setter = std::function<Status(std::string_view value)>;

  void add(std::string name, std::string value_name, std::string usage, Setter setter,
           bool is_bool = false);
  void addBool(std::string name, bool* target, std::string usage);
  void addString(std::string name, std::string* target, std::string usage);
  void addStringList(std::string name, std::vector<std::string>* target, std::string usage);
  void addInt(std::string name, int* target, std::string usage);
  void addUint64(std::string name, uint64_t* target, std::string usage);

  // Parses `args`. Errors use Go's wording, e.g. "flag provided but not defined: -x".
  Status parse(const std::vector<std::string>& args);
  // True when parse() stopped at -h/-help; parse() then returned OK.
  bool helpRequested() const { return help_; }
  // The arguments left after the flags.
  const std::vector<std::string>& args() const { return args_; }
  bool isSet(std::string_view name) const;
  // One entry per flag, sorted by name: "  -name=<value>\n      usage\n".
  std::string usage() const;

 private:
  struct Flag {
    std::string name;
    std::string value_name;
    std::string usage;
    Setter setter;
    bool is_bool = false;
    bool set = false;
  };
  Flag* find(std::string_view name);
  // Consumes one flag from args_[*pos...]; sets *done when parsing should stop.
  Status parseOne(size_t* pos, bool* done);

  std::vector<Flag> flags_;
  std::vector<std::string> args_;
  bool help_ = false;
};

}  // namespace cairn::config
