#pragma once
// LocalAgent: this agent's own services and checks (local registry, docs/consul-api.md §6) and the
// anti-entropy that keeps the catalog's view of this node equal to it. The registry is
// authoritative for the node: it is persisted in the "local" column family, its checks run in an
// owned health::CheckRunner, and every change is pushed to the catalog through a CatalogPort
// (in-process on a server, gRPC to a server on a client agent). See docs/agent.md.
//
// Threading: every public method is thread-safe. Anti-entropy and the reaper run as tasks on the
// injected Scheduler's thread; proposal results hop back onto it. No method blocks on the network.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/duration.h"
#include "core/base/status.h"
#include "core/health/check_runner.h"
#include "core/health/prober.h"
#include "core/health/scheduler.h"
#include "core/local/catalog_compare.h"
#include "core/local/catalog_port.h"
#include "core/local/registration.h"
#include "core/storage/rocks_db.h"

namespace cairn::local {

struct LocalOptions {
  // Full reconciliation period; each wait is drawn from [3/4, 5/4) of it.
  Nanos sync_interval = std::chrono::seconds(60);
  // Output-only check changes reach the catalog at most this often (0: at once).
  Nanos check_update_interval = std::chrono::minutes(5);
  // How often service instances whose checks are critical past DeregisterCriticalServiceAfter
  // are removed.
  Nanos reaper_interval = std::chrono::seconds(30);
  // Back-off of failed proposals (no leader during cluster formation is normal).
  Nanos retry_min = std::chrono::milliseconds(250);
  Nanos retry_max = std::chrono::seconds(10);
  bool enable_script_checks = false;
};

// Everything must outlive the LocalAgent. `db` may be null (nothing persisted).
struct LocalDeps {
  CatalogPort* catalog = nullptr;  // where anti-entropy reads and writes this node's rows
  storage::RocksDb* db = nullptr;
  health::Scheduler* scheduler = nullptr;
  health::ProberFactory* probers = nullptr;
  uint64_t seed = 0;  // randomness of the sync stagger and the checks' first-run delays
};

// Counters for tests and logs.
struct SyncStats {
  uint64_t proposals = 0;        // commands proposed
  uint64_t failures = 0;         // proposals or catalog reads that failed (retried)
  uint64_t full_syncs = 0;       // reconciliations with the catalog
  bool node_registered = false;  // the node and serfHealth are in the catalog
  // Everything local is in the catalog and nothing is left to remove (an output change that
  // waits for check_update_interval counts as in sync).
  bool in_sync = false;
};

class LocalAgent {
 public:
  // Loads the persisted registry and starts its checks (anti-entropy waits for start()).
  static StatusOr<std::unique_ptr<LocalAgent>> open(AgentIdentity identity, LocalOptions options,
                                                    LocalDeps deps);
  // Stops everything (see stop()).
  ~LocalAgent();
  LocalAgent(const LocalAgent&) = delete;
  LocalAgent& operator=(const LocalAgent&) = delete;

  // Starts anti-entropy (a reconciliation at once, then periodically) and the reaper.
  void start();
  // Stops syncing, the reaper and every check. Idempotent. Tasks already running finish; none
  // starts afterwards.
  void stop();

  const AgentIdentity& identity() const;
  bool scriptChecksEnabled() const;

  // Registers (or replaces) a service and its checks. With `replace_existing_checks`, the
  // service's other checks are removed. kInvalidArgument for a check that cannot run (message
  // starts with "Invalid check: ") or a script check while they are disabled.
  Status addService(ServiceRegistration registration, bool replace_existing_checks);
  // kNotFound when unknown. Removes its checks too.
  Status removeService(const std::string& id);
  // kNotFound `ServiceID "<id>" does not exist` for an unknown service_id.
  Status addCheck(CheckRegistration registration);
  Status removeCheck(const std::string& id);
  // pass/warn/fail/update of a TTL check; kInternal `CheckID "<id>" does not have associated
  // TTL` for an unknown or non-TTL check (Consul answers 500).
  Status updateTtl(const std::string& id, health::CheckStatus status, std::string_view output);
  // Maintenance checks (critical, Notes = reason or Consul's default text).
  Status setNodeMaintenance(bool enable, const std::string& reason);
  // kNotFound `No service registered with ID "<id>"`.
  Status setServiceMaintenance(const std::string& service_id, bool enable,
                               const std::string& reason);

  // Snapshots of the registry, sorted by ID. Checks carry Node, ServiceName and ServiceTags.
  std::vector<v1::CatalogService> services() const;
  std::optional<v1::CatalogService> service(const std::string& id) const;
  std::vector<v1::CatalogCheck> checks() const;
  // The checks of one service (its maintenance check included).
  std::vector<v1::CatalogCheck> serviceChecks(const std::string& service_id) const;
  // Node-level checks (maintenance; never serfHealth, which lives only in the catalog).
  std::vector<v1::CatalogCheck> nodeChecks() const;

  // Requests a full reconciliation now (tests; /v1/agent/reload).
  void syncNow();
  SyncStats syncStats() const;

  class Impl;

 private:
  explicit LocalAgent(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace cairn::local
