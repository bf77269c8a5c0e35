#pragma once
// Plain value types of the KV store, shared by the state store, its readers and the HTTP layer.

#include <cstdint>
#include <string>
#include <vector>

namespace cairn::store {

// One KV entry as Consul reports it.
struct KvEntry {
  std::string key;
  std::string value;
  uint64_t flags = 0;
  uint64_t create_index = 0;
  uint64_t modify_index = 0;
  uint64_t lock_index = 0;
  std::string session;  // empty: not locked
  bool operator==(const KvEntry&) const = default;
};

struct TxnError {
  int op_index = 0;
  std::string what;
  // The session an acquire named when that session does not exist. Consul's single-key write
  // treats that as an error of the request, not a lost race, so callers need the cause.
  std::string unknown_session;
};

// The outcome of one transaction, as /v1/txn reports it. When ok, `results` holds one entry per
// result-producing op (values stripped except for get and get-tree); otherwise `errors` lists
// every failing op and nothing was applied.
struct TxnOutcome {
  bool ok = true;
  std::vector<KvEntry> results;
  std::vector<TxnError> errors;
};

// A single-key read: the entry if present, and the index to report (X-Consul-Index).
struct KvGetResult {
  bool found = false;
  KvEntry entry;
  uint64_t index = 1;
};

struct KvListResult {
  std::vector<KvEntry> entries;
  uint64_t index = 1;
};

struct KvKeysResult {
  std::vector<std::string> keys;
  uint64_t index = 1;
};

}  // namespace cairn::store
