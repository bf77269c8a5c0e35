#include "core/config/config_value.h"

#include <cstdio>

#include "core/base/json_escape.h"

namespace cairn::config {
namespace {

void appendJson(const ConfigValue& v, std::string& out) {
  switch (v.kind()) {
    case ConfigValue::Kind::kNull:
      out += "null";
      return;
    case ConfigValue::Kind::kBool:
    case ConfigValue::Kind::kNumber:
      out += v.text();
      return;
    case ConfigValue::Kind::kString:
      appendJsonString(out, v.text());
      return;
    case ConfigValue::Kind::kList: {
      out += '[';
      const char* sep = "";
      for (const ConfigValue& item : v.items()) {
        out += sep;
        appendJson(item, out);
        sep = ",";
      }
      out += ']';
      return;
    }
    case ConfigValue::Kind::kMap: {
      out += '{';
      const char* sep = "";
      for (const auto& [key, member] : v.members()) {
        out += sep;
        appendJsonString(out, key);
        out += ':';
        appendJson(member, out);
        sep = ",";
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

void ConfigValue::set(std::string key, ConfigValue v) {
  for (auto& member : members_) {
    if (member.first == key) {
      member.second = std::move(v);
      return;
    }
  }
  members_.emplace_back(std::move(key), std::move(v));
}

const ConfigValue* ConfigValue::find(const std::string& key) const {
  for (const auto& member : members_) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

std::string ConfigValue::toJson() const {
  std::string out;
  appendJson(*this, out);
  return out;
}

}  // namespace cairn::config
