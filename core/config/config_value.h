#pragma once
// ConfigValue: one parsed config file as a tree, whatever its syntax. The strict JSON reader
// (json_config.h), the YAML reader (yaml_config.h) and, later, the HCL parser in core/hcl all
// produce it, so one key table (consul_keys.h) and one set of setters (config_file.cc) serve
// every format. Every node keeps the line and column it was read from, for error messages.

#include <string>
#include <utility>
#include <vector>

namespace cairn::config {

// 1-based; 0 when unknown.
struct ConfigPos {
  int line = 0;
  int col = 0;
};

class ConfigValue {
 public:
  enum class Kind { kNull, kBool, kNumber, kString, kList, kMap };
  using Member = std::pair<std::string, ConfigValue>;

  ConfigValue() = default;
  static ConfigValue null(ConfigPos pos) { return ConfigValue(Kind::kNull, "", pos); }
  static ConfigValue boolean(bool b, ConfigPos pos) {
    return ConfigValue(Kind::kBool, b ? "true" : "false", pos);
  }
  // `text` as written (JSON number syntax), so integers keep all their digits.
  static ConfigValue number(std::string text, ConfigPos pos) {
    return ConfigValue(Kind::kNumber, std::move(text), pos);
  }
  static ConfigValue string(std::string text, ConfigPos pos) {
    return ConfigValue(Kind::kString, std::move(text), pos);
  }
  static ConfigValue list(ConfigPos pos) { return ConfigValue(Kind::kList, "", pos); }
  static ConfigValue map(ConfigPos pos) { return ConfigValue(Kind::kMap, "", pos); }

  Kind kind() const { return kind_; }
  bool isMap() const { return kind_ == Kind::kMap; }
  bool isList() const { return kind_ == Kind::kList; }
  bool isNull() const { return kind_ == Kind::kNull; }
  // Bool, number or string: `text()` is its spelling ("true", "8500", "dc1").
  bool isScalar() const {
    return kind_ == Kind::kBool || kind_ == Kind::kNumber || kind_ == Kind::kString;
  }
  const std::string& text() const { return text_; }
  ConfigPos pos() const { return pos_; }

  // Lists: the items. Maps: the members in file order; a repeated key keeps its first place and
  // its last value, as Go's encoding/json (which Consul uses for .json files) does.
  const std::vector<ConfigValue>& items() const { return items_; }
  const std::vector<Member>& members() const { return members_; }
  void append(ConfigValue v) { items_.push_back(std::move(v)); }
  // Adds or replaces (last one wins, as in Go's encoding/json).
  void set(std::string key, ConfigValue v);
  const ConfigValue* find(const std::string& key) const;

  // Compact JSON text of this value (numbers as written). For handing service and check
  // definitions to the agent API's JSON decoders.
  std::string toJson() const;

 private:
  ConfigValue(Kind kind, std::string text, ConfigPos pos)
      : kind_(kind), text_(std::move(text)), pos_(pos) {}

  Kind kind_ = Kind::kNull;
  std::string text_;
  ConfigPos pos_;
  std::vector<ConfigValue> items_;
  std::vector<Member> members_;
};

}  // namespace cairn::config
