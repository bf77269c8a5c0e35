#pragma once
// The KV data the CLI reads and prints: Consul's KV entry JSON, `consul kv get -detailed`'s
// table, and `consul kv export`/`import`'s JSON, byte for byte as the Go CLI prints them.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/go_encoding.h"
#include "core/base/status.h"

namespace cairn::cli {

struct KvPair {
  std::string key;
  uint64_t flags = 0;
  std::string value;  // raw bytes
  std::string session;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  uint64_t lock_index = 0;
};

// An element of `consul kv export` JSON: {"key": ..., "flags": ..., "value": base64}.
struct ExportEntry {
  std::string key;
  uint64_t flags = 0;
  std::string value;  // base64 text, as in the file
};

// Decodes the array that GET /v1/kv/<key>[?recurse] returns.
StatusOr<std::vector<KvPair>> parseKvPairs(const std::string& json);
// Decodes a JSON array of strings (GET /v1/kv/<prefix>?keys).
StatusOr<std::vector<std::string>> parseStringArray(const std::string& json);

// `consul kv get -detailed`: Go's tabwriter table (padding 6), without a trailing newline.
// `keys_only` leaves out the Value row (used with -keys -recurse).
std::string formatDetailed(const KvPair& pair, bool base64_value, bool keys_only);
// Go's text/tabwriter with minwidth 0, padding `padding`, pad character ' ', no flags.
std::string tabwrite(std::string_view text, int padding);

// `consul kv export`: Go's json.MarshalIndent(entries, "", "\t"); "[]" when empty.
std::string formatExportJson(const std::vector<KvPair>& pairs);
// `consul kv import`'s decoding (Go json.Unmarshal: field names match case-insensitively,
// unknown fields are ignored, null is an empty list). Errors start "Cannot unmarshal data: ".
StatusOr<std::vector<ExportEntry>> parseExportJson(const std::string& json);
// The key `consul kv import -prefix` writes: Go's path.Join(prefix, key), with a trailing '/'
// kept when `key` ends in one.
std::string importKey(const std::string& prefix, const std::string& key);
// Go's path.Clean.
std::string goPathClean(const std::string& path);

}  // namespace cairn::cli
