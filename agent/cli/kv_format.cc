#define _TURN_OFF_PLATFORM_STRING
#include "agent/cli/kv_format.h"

#include <cpprest/json.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/base/go_encoding.h"

namespace cairn::cli {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
size_t runeCount(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

struct Cell {
  std::string text;
  bool terminated;  // ended by a tab: part of a column
};
using Line = std::vector<Cell>;

std::vector<Line> splitCells(std::string_view text) {
  std::vector<Line> lines(1, Line{Cell{"", false}});
  for (char c : text) {
    if (c == '\t') {
      lines.back().back().terminated = true;
      lines.back().push_back(Cell{"", false});
    } else if (c == '\n') {
      lines.push_back(Line{Cell{"", false}});
    } else {
      lines.back().back().text += c;
    }
  }
  return lines;
}

// Go's tabwriter format(): finds column blocks recursively and fixes each column's width.
class TabFormatter {
 public:
  TabFormatter(std::vector<Line> lines, int padding) : lines_(std::move(lines)), pad_(padding) {}
  std::string run() {
    format(0, lines_.size());
    return out_;
  }

 private:
  bool hasCell(size_t line, size_t column) const { return column + 1 < lines_[line].size(); }
  void format(size_t line0, size_t line1) {
    size_t column = widths_.size();
    for (size_t line = line0; line < line1; ++line) {
      if (!hasCell(line, column)) continue;
      writeLines(line0, line);
      line0 = line;
      size_t width = 0;
      for (; line < line1 && hasCell(line, column); ++line) {
        width = std::max(width, runeCount(lines_[line][column].text) + pad_);
      }
      widths_.push_back(width);
      format(line0, line);
      widths_.pop_back();
      line0 = line;  // the line that ended the block has no cell here: the ++ skips it
    }
    writeLines(line0, line1);
  }
  void writeLines(size_t line0, size_t line1) {
    for (size_t i = line0; i < line1; ++i) {
      for (size_t j = 0; j < lines_[i].size(); ++j) {
        const std::string& text = lines_[i][j].text;
        out_ += text;
        if (j < widths_.size()) out_.append(widths_[j] - runeCount(text), ' ');
      }
      if (i + 1 < lines_.size()) out_ += '\n';
    }
  }

  std::vector<Line> lines_;
  size_t pad_;
  std::vector<size_t> widths_;
  std::string out_;
};

// Go's two-character escapes (Go >= 1.22 also writes \b and \f this way).
using JsonValue = web::json::value;

StatusOr<JsonValue> parseJson(const std::string& text) {
  try {
    return JsonValue::parse(text);
  } catch (const std::exception& e) {
    return invalidArgument(e.what());
  }
}

const char* jsonTypeName(const JsonValue& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_number()) return "number";
  if (v.is_boolean()) return "bool";
  return "null";
}

uint64_t uintField(const JsonValue& obj, const char* name) {
  if (!obj.has_field(name) || !obj.at(name).is_number()) return 0;
  const auto& n = obj.at(name).as_number();
  return n.is_uint64() ? n.to_uint64() : 0;
}

std::string stringField(const JsonValue& obj, const char* name) {
  if (!obj.has_field(name) || !obj.at(name).is_string()) return "";
  return obj.at(name).as_string();
}

StatusOr<KvPair> kvPairOf(const JsonValue& obj) {
  if (!obj.is_object()) return invalidArgument("expected a KV entry object");
  KvPair p;
  p.key = stringField(obj, "Key");
  p.flags = uintField(obj, "Flags");
  p.session = stringField(obj, "Session");
  p.create_index = uintField(obj, "CreateIndex");
  p.modify_index = uintField(obj, "ModifyIndex");
  p.lock_index = uintField(obj, "LockIndex");
  auto value = base64Decode(stringField(obj, "Value"));
  if (!value.isOk()) return invalidArgument("entry " + p.key + ": " + value.status().message());
  p.value = std::move(*value);
  return p;
}

std::string lowered(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Status unmarshalError(const std::string& what) {
  return invalidArgument("Cannot unmarshal data: json: " + what);
}

Status exportFieldOf(const std::string& name, const JsonValue& v, ExportEntry& e) {
  std::string field = lowered(name);
  auto mismatch = [&](const char* go_type) {
    return unmarshalError(std::string("cannot unmarshal ") + jsonTypeName(v) +
                          " into Go struct field Entry." + field + " of type " + go_type);
  };
  if (field == "key" || field == "value") {
    if (v.is_null()) return Status::ok();
    if (!v.is_string()) return mismatch("string");
    (field == "key" ? e.key : e.value) = v.as_string();
  } else if (field == "flags") {
    if (v.is_null()) return Status::ok();
    if (!v.is_number() || !v.as_number().is_uint64()) return mismatch("uint64");
    e.flags = v.as_number().to_uint64();
  }
  return Status::ok();
}

}  // namespace

StatusOr<std::vector<KvPair>> parseKvPairs(const std::string& json) {
  auto root = parseJson(json);
  if (!root.isOk()) return invalidArgument("decoding KV entries: " + root.status().message());
  if (root->is_null()) return std::vector<KvPair>{};
  if (!root->is_array()) return invalidArgument("decoding KV entries: expected an array");
  std::vector<KvPair> pairs;
  for (const JsonValue& element : root->as_array()) {
    auto pair = kvPairOf(element);
    if (!pair.isOk()) return pair.status();
    pairs.push_back(std::move(*pair));
  }
  return pairs;
}

StatusOr<std::vector<std::string>> parseStringArray(const std::string& json) {
  auto root = parseJson(json);
  if (!root.isOk()) return invalidArgument("decoding keys: " + root.status().message());
  std::vector<std::string> out;
  if (root->is_null()) return out;
  if (!root->is_array()) return invalidArgument("decoding keys: expected an array");
  for (const JsonValue& element : root->as_array()) {
    if (!element.is_string()) return invalidArgument("decoding keys: expected strings");
    out.push_back(element.as_string());
  }
  return out;
}

std::string tabwrite(std::string_view text, int padding) {
  return TabFormatter(splitCells(text), padding).run();
}

std::string formatDetailed(const KvPair& p, bool base64_value, bool keys_only) {
  std::string t = "CreateIndex\t" + std::to_string(p.create_index) + "\n";
  t += "Flags\t" + std::to_string(p.flags) + "\n";
  t += "Key\t" + p.key + "\n";
  t += "LockIndex\t" + std::to_string(p.lock_index) + "\n";
  t += "ModifyIndex\t" + std::to_string(p.modify_index) + "\n";
  t += "Session\t" + (p.session.empty() ? std::string("-") : p.session) + "\n";
  if (!keys_only) t += "Value\t" + (base64_value ? base64Encode(p.value) : p.value);
  return tabwrite(t, 6);
}

std::string formatExportJson(const std::vector<KvPair>& pairs) {
  if (pairs.empty()) return "[]";
  std::string out = "[\n";
  for (size_t i = 0; i < pairs.size(); ++i) {
    out += "\t{\n\t\t\"key\": " + goJsonString(pairs[i].key) + ",\n";
    out += "\t\t\"flags\": " + std::to_string(pairs[i].flags) + ",\n";
    out += "\t\t\"value\": " + goJsonString(base64Encode(pairs[i].value)) + "\n\t}";
    out += i + 1 < pairs.size() ? ",\n" : "\n";
  }
  return out + "]";
}

StatusOr<std::vector<ExportEntry>> parseExportJson(const std::string& json) {
  auto root = parseJson(json);
  if (!root.isOk()) return invalidArgument("Cannot unmarshal data: " + root.status().message());
  std::vector<ExportEntry> entries;
  if (root->is_null()) return entries;
  if (!root->is_array()) {
    return unmarshalError(std::string("cannot unmarshal ") + jsonTypeName(*root) +
                          " into Go value of type []*impexp.Entry");
  }
  for (const JsonValue& element : root->as_array()) {
    if (!element.is_object()) {
      return unmarshalError(std::string("cannot unmarshal ") + jsonTypeName(element) +
                            " into Go value of type impexp.Entry");
    }
    ExportEntry entry;
    for (const auto& [name, value] : element.as_object()) {
      CAIRN_RETURN_IF_ERROR(exportFieldOf(name, value, entry));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string goPathClean(const std::string& path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  size_t n = path.size(), r = rooted ? 1 : 0, dotdot = r;
  std::string out = rooted ? "/" : "";
  while (r < n) {
    if (path[r] == '/') {
      ++r;
    } else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/')) {
      ++r;
    } else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/')) {
      r += 2;
      if (out.size() > dotdot) {
        out.pop_back();
        while (out.size() > dotdot && out.back() != '/') out.pop_back();
        if (out.size() > dotdot && out.back() == '/') out.pop_back();
      } else if (!rooted) {
        out += out.empty() ? ".." : "/..";
        dotdot = out.size();
      }
    } else {
      if (out.size() != (rooted ? 1u : 0u)) out += '/';
      for (; r < n && path[r] != '/'; ++r) out += path[r];
    }
  }
  return out.empty() ? "." : out;
}

std::string importKey(const std::string& prefix, const std::string& key) {
  std::string joined;
  if (!prefix.empty() || !key.empty()) {
    joined = prefix.empty() ? key : key.empty() ? prefix : prefix + "/" + key;
    joined = goPathClean(joined);
  }
  if (!key.empty() && key.back() == '/') joined += '/';
  return joined;
}

}  // namespace cairn::cli
