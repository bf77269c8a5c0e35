#pragma once
// JsonWriter: builds compact JSON the way Go's encoding/json does for Consul's responses (strings
// through goJsonString). Commas are placed automatically.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::http {

class JsonWriter {
 public:
  JsonWriter& beginObject();
  JsonWriter& endObject();
  JsonWriter& beginArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view value);
  JsonWriter& number(uint64_t value);
  JsonWriter& number(int64_t value);
  // The shortest text that reads back as `value` (as Go prints a float64); NaN and infinities,
  // which JSON cannot carry, are written as 0.
  JsonWriter& number(double value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // Base64 of `bytes`, or null when empty (Consul's []byte fields).
  JsonWriter& bytes(std::string_view bytes);

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void separate();
  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

// Re-indents compact JSON, one `indent` per level, with a trailing newline (Consul's ?pretty uses
// 4 spaces; `consul kv export` uses a tab).
std::string prettyJson(std::string_view compact, std::string_view indent = "    ");

}  // namespace cairn::http
