// The autopilot configuration in the replicated state (PUT /v1/operator/autopilot/configuration):
// one catalog row, "o/autopilot", so that snapshots and restores carry it with the rest of the
// catalog family. Absent until the first write: readers then see Consul's defaults.
#include "core/store/catalog_apply.h"
#include "core/store/state_snapshot.h"
#include "core/store/state_store.h"

namespace cairn::store {
namespace {

constexpr std::string_view kAutopilotRow = "o/autopilot";

}  // namespace

std::optional<v1::AutopilotConfig> CatalogTable::autopilotConfig() {
  auto row = getRow(kAutopilotRow);
  if (!row) return std::nullopt;
  v1::AutopilotConfig config;
  if (!config.ParseFromString(*row)) return std::nullopt;
  return config;
}

void CatalogTable::putAutopilotConfig(const v1::AutopilotConfig& config) {
  putRow(kAutopilotRow, config.SerializeAsString());
}

TxnOutcome applyAutopilotSetConfig(Tables& t, uint64_t index, const v1::AutopilotSetConfig& cmd) {
  auto existing = t.catalog.autopilotConfig();
  uint64_t current = existing ? existing->modify_index() : 0;
  if (cmd.cas() && cmd.cas_index() != current) {
    return TxnOutcome{false, {}, {TxnError{0, std::string(kAutopilotCasMismatch)}}};
  }
  v1::AutopilotConfig next = cmd.config();
  next.set_create_index(existing ? existing->create_index() : index);
  next.set_modify_index(index);
  t.catalog.putAutopilotConfig(next);
  return TxnOutcome{};
}

v1::AutopilotConfig defaultAutopilotConfig() {
  v1::AutopilotConfig c;  // Consul's defaults
  c.set_cleanup_dead_servers(true);
  c.set_last_contact_threshold_ns(200'000'000);
  c.set_max_trailing_logs(250);
  c.set_server_stabilization_time_ns(10'000'000'000);
  return c;
}

v1::AutopilotConfig StateStore::autopilotConfig() const {
  Snapshot snap(db_, may_have_floor_.load());
  return snap.catalog().autopilotConfig().value_or(defaultAutopilotConfig());
}

}  // namespace cairn::store
