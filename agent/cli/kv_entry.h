#pragma once
// Decoding KV entries from the agent's JSON and reading command DATA arguments.

#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/store/kv_types.h"

namespace cairn::agent::cli {

// Parses a /v1/kv response body (array of entries; values base64-decoded).
StatusOr<std::vector<store::KvEntry>> parseKvEntries(const std::string& body);
// DATA as `consul kv` reads it: "-" is stdin, "@path" a file's content, else the text itself.
StatusOr<std::string> readData(const std::string& arg);

// `consul kv export` JSON: [{"key":..,"flags":..,"value":base64}], tab-indented.
std::string exportJson(const std::vector<store::KvEntry>& entries);
StatusOr<std::vector<store::KvEntry>> parseExportJson(const std::string& text);

}  // namespace cairn::agent::cli
