#include "core/config/yaml_config.h"

#include <yaml-cpp/yaml.h>

#include <regex>

namespace cairn::config {
namespace {

ConfigPos posOf(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return ConfigPos{m.line + 1, m.column + 1};
}

bool isJsonNumber(const std::string& s) {
  static const std::regex kNumber(R"(-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?)");
  return std::regex_match(s, kNumber);
}

ConfigValue scalar(const YAML::Node& n) {
  ConfigPos pos = posOf(n.Mark());
  const std::string& s = n.Scalar();
  if (n.Tag() != "?") return ConfigValue::string(s, pos);  // quoted or explicitly tagged
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    return ConfigValue::null(pos);
  }
  bool b = false;
  if (YAML::convert<bool>::decode(n, b)) return ConfigValue::boolean(b, pos);
  if (isJsonNumber(s)) return ConfigValue::number(s, pos);
  return ConfigValue::string(s, pos);
}

StatusOr<ConfigValue> convert(const YAML::Node& n, const std::string& origin) {
  ConfigPos pos = posOf(n.Mark());
  auto where = [&](ConfigPos p) {
    return origin + ":" + std::to_string(p.line) + ":" + std::to_string(p.col) + ": ";
  };
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return ConfigValue::null(pos);
    case YAML::NodeType::Scalar:
      return scalar(n);
    case YAML::NodeType::Sequence: {
      ConfigValue list = ConfigValue::list(pos);
      for (const YAML::Node& item : n) {
        auto v = convert(item, origin);
        if (!v.isOk()) return v;
        list.append(std::move(*v));
      }
      return list;
    }
    case YAML::NodeType::Map: {
      ConfigValue map = ConfigValue::map(pos);
      for (const auto& entry : n) {
        if (!entry.first.IsScalar()) {
          return invalidArgument(where(posOf(entry.first.Mark())) + "keys must be strings");
        }
        auto v = convert(entry.second, origin);
        if (!v.isOk()) return v;
        map.set(entry.first.Scalar(), std::move(*v));
      }
      return map;
    }
  }
  return ConfigValue::null(pos);
}

}  // namespace

StatusOr<ConfigValue> parseYamlConfig(std::string_view text, const std::string& origin) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (root.IsNull()) return ConfigValue::map(ConfigPos{1, 1});
    if (!root.IsMap()) return invalidArgument(origin + ":1:1: expected a map of config keys");
    return convert(root, origin);
  } catch (const YAML::Exception& e) {
    // e.msg without yaml-cpp's own "yaml-cpp: error at line..." prefix; the position is ours.
    return invalidArgument(origin + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
}

}  // namespace cairn::config
