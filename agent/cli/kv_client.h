#pragma once
// The KV calls of Consul's Go api package (api/kv.go) that `consul kv` makes, with the same
// parameters and the same reading of the answers (404 on a read is "nothing there").

#include <optional>
#include <string>
#include <vector>

#include "agent/cli/cli_common.h"
#include "agent/cli/kv_format.h"

namespace cairn::cli {

class KvClient {
 public:
  enum class WriteMode { kPut, kCas, kAcquire, kRelease };

  explicit KvClient(const ApiClient& api) : api_(api) {}

  // nullopt when the key does not exist.
  StatusOr<std::optional<KvPair>> get(const std::string& key) const;
  StatusOr<std::vector<KvPair>> list(const std::string& prefix) const;
  // `separator` empty lists every key under the prefix.
  StatusOr<std::vector<std::string>> keys(const std::string& prefix,
                                          const std::string& separator) const;
  // Writes pair.value with pair.flags; kCas checks pair.modify_index, kAcquire/kRelease use
  // pair.session. Returns the agent's true/false.
  StatusOr<bool> put(const KvPair& pair, WriteMode mode) const;
  Status deleteKey(const std::string& key) const;
  StatusOr<bool> deleteCas(const std::string& key, uint64_t modify_index) const;
  Status deleteTree(const std::string& prefix) const;

 private:
  StatusOr<HttpResponse> read(const std::string& key, Query query) const;
  StatusOr<bool> write(const std::string& method, const std::string& key, Query query,
                       const std::string& body) const;
  const ApiClient& api_;
};

}  // namespace cairn::cli
