#include "core/config/config_value.h"

#include <cstdio>

namespace cairn::config {
namespace {

void appendJsonString(const std::string& s, std::string& out) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

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
      appendJsonString(v.text(), out);
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
        appendJsonString(key, out);
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
