#pragma once
// LocalAgent's implementation, shared by local_agent.cc (construction, reads, check updates),
// local_registry.cc (registration) and local_sync.cc (anti-entropy, reaper). Private to
// core/local.
//
// Locks: reg_mu_ serialises registry mutations and is held while calling the CheckRunner; mu_
// guards the state below and is never held while calling the runner or the CatalogPort (the
// runner's callback takes mu_ while holding the runner's delivery lock). Order: reg_mu_ → mu_.

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "core/local/local_agent.h"
#include "core/local/local_persistence.h"

namespace cairn::local {

class LocalAgent::Impl : public std::enable_shared_from_this<LocalAgent::Impl> {
 public:
  Impl(AgentIdentity identity, LocalOptions options, LocalDeps deps);
  // Creates the runner and loads the persisted registry. Called once, right after construction.
  Status init();

  const AgentIdentity& identity() const { return identity_; }
  const LocalOptions& options() const { return options_; }

  // local_registry.cc
  Status addService(ServiceRegistration registration, bool replace_existing_checks);
  Status removeService(const std::string& id);
  Status addCheck(CheckRegistration registration);
  Status removeCheck(const std::string& id);
  Status updateTtl(const std::string& id, health::CheckStatus status, std::string_view output);
  Status setNodeMaintenance(bool enable, const std::string& reason);
  Status setServiceMaintenance(const std::string& id, bool enable, const std::string& reason);

  // local_agent.cc
  std::vector<v1::CatalogService> services() const;
  std::optional<v1::CatalogService> service(const std::string& id) const;
  std::vector<v1::CatalogCheck> checks(
      const std::function<bool(const v1::CatalogCheck&)>& keep) const;
  void onCheckUpdate(const std::string& id, health::CheckStatus status, const std::string& output);
  SyncStats syncStats() const;

  // local_sync.cc
  void start();
  void stop();
  // Pushes out-of-sync entries; with `full`, first reconciles with the catalog.
  void requestSync(bool full);

 private:
  struct ServiceEntry {
    v1::CatalogService service;
    bool in_sync = false;
    uint64_t version = 0;
  };
  struct CheckEntry {
    v1::CatalogCheck check;  // Node empty; ServiceName/ServiceTags filled on read
    health::CheckDefinition definition;
    std::string initial_status;
    bool in_sync = false;
    uint64_t version = 0;
    bool output_deferred = false;  // an output-only change waits for check_update_interval
    health::Scheduler::TaskId defer_timer = 0;
    std::optional<SteadyTime> last_output_sync;
  };
  // One proposal of anti-entropy and what it brings in sync when it succeeds.
  struct Action {
    enum Kind { kNode, kService, kCheck, kRemoveService, kRemoveCheck } kind = kNode;
    std::string id;
    uint64_t version = 0;
    std::vector<std::pair<std::string, uint64_t>> checks;  // kService: its checks' versions
    v1::Command command;
    // kService with EnableTagOverride: the catalog's tags must be read before proposing.
    bool needs_catalog = false;
  };

  // local_registry.cc. Require reg_mu_.
  Status prepareCheck(CheckRegistration& r) const;
  Status installChecks(std::vector<CheckRegistration> checks);
  void removeCheckLocked(const std::string& id);
  Status putMaintenanceCheck(v1::CatalogCheck check);
  localstore::StoredLocalCheck storedCheck(const CheckEntry& e) const;

  // local_agent.cc
  v1::CatalogCheck withServiceFields(const CheckEntry& e) const;  // requires mu_
  Status load();

  // local_sync.cc. *Locked require mu_.
  void post(std::function<void(Impl&)> fn, SteadyTime when);
  void runRound();
  // Reads this node's catalog rows, then continues the round (reconciling first when `full`).
  void readCatalog(bool full);
  void onCatalogRead(const StatusOr<NodeCatalog>& rows, bool full);
  // Proposes the next out-of-sync entry; `rows` (may be null) is a fresh read of the catalog.
  void continueRound(const NodeCatalog* rows, bool full);
  void onProposed(const Action& action, const Status& result);
  void scheduleRetryLocked(const std::string& why);
  void reconcileLocked(const NodeCatalog& catalog);
  std::optional<Action> nextActionLocked(const NodeCatalog* rows);
  void markSyncedLocked(const Action& action);
  v1::CatalogCheck catalogCheckLocked(const CheckEntry& e) const;
  void scheduleFullSyncLocked();
  void scheduleReaperLocked();
  void reap();
  void onDeferredOutput(const std::string& id);

  const AgentIdentity identity_;
  const LocalOptions options_;
  const LocalDeps deps_;
  LocalPersistence persistence_;
  SeededRandom runner_random_;  // used under the runner's lock only
  std::unique_ptr<health::CheckRunner> runner_;

  std::mutex reg_mu_;
  mutable std::mutex mu_;
  SeededRandom random_;  // sync stagger; under mu_
  std::map<std::string, ServiceEntry> services_;
  std::map<std::string, CheckEntry> checks_;
  std::set<std::string> remove_services_;  // in the catalog, unknown locally: deregister
  std::set<std::string> remove_checks_;
  bool node_in_sync_ = false;
  bool started_ = false;
  bool stopped_ = false;
  bool round_running_ = false;  // a round (or its retry wait) is in progress
  bool full_pending_ = false;
  health::Scheduler::TaskId full_timer_ = 0;
  health::Scheduler::TaskId reaper_timer_ = 0;
  health::Scheduler::TaskId retry_timer_ = 0;
  Nanos retry_delay_;
  uint64_t next_version_ = 1;
  SyncStats stats_;
};

}  // namespace cairn::local
