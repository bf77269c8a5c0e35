#include "core/config/hcl_config.h"

#include <map>
#include <set>

#include "core/hcl/hcl.h"

namespace cairn::config {
namespace {

ConfigPos posOf(const hcl::Position& p) { return ConfigPos{p.line, p.column}; }

// Keys whose value is a list of objects in Consul's config structs: one block is a list of one.
bool isListKey(const std::string& key) {
  static const std::set<std::string> kKeys = {"services", "checks", "upstreams"};
  return kKeys.count(key) > 0;
}

// The plural a repeated singular block goes to (service → services), or "".
std::string pluralOf(const std::string& key) {
  if (key == "service") return "services";
  if (key == "check") return "checks";
  return "";
}

ConfigValue convert(const hcl::Value& v);

ConfigValue convertObject(const hcl::Value& v) {
  // Values of each key in source order; keys in order of first appearance.
  std::vector<std::string> order;
  std::map<std::string, std::vector<const hcl::Value*>> values;
  for (const hcl::Entry& e : v.entries) {
    std::string key = e.key;
    if (!pluralOf(key).empty() && v.blocks(key).size() > 1) key = pluralOf(key);
    if (values.find(key) == values.end()) order.push_back(key);
    values[key].push_back(&e.value);
  }
  ConfigValue map = ConfigValue::map(posOf(v.pos));
  for (const std::string& key : order) {
    const auto& written = values[key];
    if (written.size() == 1 && !(isListKey(key) && written[0]->kind == hcl::Kind::kObject)) {
      map.set(key, convert(*written[0]));
      continue;
    }
    ConfigValue list = ConfigValue::list(posOf(written[0]->pos));
    for (const hcl::Value* w : written) {
      if (w->kind != hcl::Kind::kList) {
        list.append(convert(*w));
        continue;
      }
      for (const hcl::Value& item : w->items) list.append(convert(item));
    }
    map.set(key, std::move(list));
  }
  return map;
}

ConfigValue convert(const hcl::Value& v) {
  ConfigPos pos = posOf(v.pos);
  switch (v.kind) {
    case hcl::Kind::kNull:
      return ConfigValue::null(pos);
    case hcl::Kind::kBool:
      return ConfigValue::boolean(v.boolean, pos);
    case hcl::Kind::kNumber:
      // HCL allows forms JSON does not (0x1f, 1e3 as an integer): keep JSON's spelling.
      return ConfigValue::number(v.is_integer ? std::to_string(v.integer) : v.text, pos);
    case hcl::Kind::kString:
      return ConfigValue::string(v.text, pos);
    case hcl::Kind::kList: {
      ConfigValue list = ConfigValue::list(pos);
      for (const hcl::Value& item : v.items) list.append(convert(item));
      return list;
    }
    case hcl::Kind::kObject:
      return convertObject(v);
  }
  return ConfigValue::null(pos);
}

}  // namespace

StatusOr<ConfigValue> parseHclConfig(std::string_view text, const std::string& origin) {
  auto root = hcl::parse(text, origin);
  if (!root.isOk()) return root.status();
  return convert(*root);
}

}  // namespace cairn::config
