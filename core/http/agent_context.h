#pragma once
// AgentApiContext: what the /v1/agent/* routes need, narrow enough for a client agent (no Raft,
// no state store) to fill. Servers fill it from their ApiContext and Raft configuration.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/serial_worker.h"
#include "core/metrics/metrics.h"
#include "core/storage/storage_health.h"

namespace cairn::http {

// The local agent's identity and limits, as /v1/agent/self reports them.
struct AgentInfo {
  std::string node_name;
  std::string node_id;
  std::string datacenter;
  std::string version;
  std::string revision;
  std::string advertise_addr;
  int server_port = 8300;
  bool server = true;
  int64_t session_ttl_min_ns = 10'000'000'000;
  uint64_t kv_max_value_size = 512 * 1024;
  uint64_t txn_max_req_len = 512 * 1024;
  std::map<std::string, std::string> node_meta;  // node_meta from the config
};

// Serf's member status codes, as /v1/agent/members reports them.
inline constexpr int kMemberAlive = 1;
inline constexpr int kMemberLeft = 3;
inline constexpr int kMemberFailed = 4;

// One agent of the cluster as /v1/agent/members lists it.
struct AgentMember {
  std::string name;
  std::string id;    // node ID
  std::string addr;  // IP (no brackets)
  int port = 0;
  bool server = true;  // Tags.role "consul", else "node"
  int status = kMemberAlive;
};

// Where /v1/agent/members comes from: the Raft configuration on a server, the servers' answer on
// a client. Thread-safe; called on HTTP pool threads, must not block for long.
class MembersSource {
 public:
  virtual ~MembersSource() = default;
  virtual std::vector<AgentMember> members() const = 0;
};

struct AgentApiContext {
  AgentInfo agent;
  metrics::Metrics& metrics;
  MembersSource& members;
  // Registrations sync the local registry to disk: they run here, not on an HTTP pool thread.
  SerialWorker& slow_work;
  // The agent's disk (/v1/agent/self Stats.storage). May be null.
  storage::StorageHealth* storage = nullptr;
};

}  // namespace cairn::http
