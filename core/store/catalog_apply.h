#pragma once
// Semantics of the catalog, session and event commands (docs/consul-api.md §4, §7, §8), applied to
// the tables of one WriteBatch at one log index. Deterministic: the outcome depends only on the
// tables and the command, so every replica reaches the same state. What must happen outside the
// batch (lock delays, session TTL clocks) is returned as ApplyEffects and acted on by the caller
// after the batch is written.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/catalog.pb.h"
#include "core/store/catalog_table.h"
#include "core/store/kv_table.h"
#include "core/store/kv_types.h"

namespace cairn::store {

// Both tables over one batch.
struct Tables {
  KvTable& kv;
  CatalogTable& catalog;
};

struct LockDelay {
  std::string key;
  int64_t delay_ns = 0;
};

// A session whose TTL clock (re)starts, or that ended.
struct SessionClock {
  std::string id;
  std::string ttl;  // Go duration, "" for none
  bool ended = false;
};

struct ApplyEffects {
  std::vector<LockDelay> lock_delays;
  std::vector<SessionClock> sessions;
};

// Consul's cap on an applied lock delay.
inline constexpr int64_t kMaxLockDelayNs = 60'000'000'000;
// User events kept (the agent's ring buffer in Consul).
inline constexpr size_t kEventsKept = 256;

TxnOutcome applyCatalogRegister(Tables& t, uint64_t index, const v1::CatalogRegister& cmd,
                                ApplyEffects& effects);
TxnOutcome applyCatalogDeregister(Tables& t, uint64_t index, const v1::CatalogDeregister& cmd,
                                  ApplyEffects& effects);
TxnOutcome applySessionCreate(Tables& t, uint64_t index, const v1::SessionCreate& cmd,
                              ApplyEffects& effects);
// Destroying an unknown session succeeds (Consul answers true).
TxnOutcome applySessionDestroy(Tables& t, uint64_t index, const v1::SessionDestroy& cmd,
                               ApplyEffects& effects);
// Fails with kSessionNotFound when the session does not exist.
TxnOutcome applySessionRenew(Tables& t, const v1::SessionRenew& cmd, ApplyEffects& effects);
TxnOutcome applyEventFire(Tables& t, uint64_t index, const v1::EventFire& cmd);
// Autopilot configuration (autopilot_store.cc). A failed ?cas= answers kAutopilotCasMismatch.
inline constexpr std::string_view kAutopilotCasMismatch = "autopilot configuration CAS mismatch";
TxnOutcome applyAutopilotSetConfig(Tables& t, uint64_t index, const v1::AutopilotSetConfig& cmd);
v1::AutopilotConfig defaultAutopilotConfig();
// Writes or removes a client member record and, when asked, deregisters its node (a leave).
TxnOutcome applyMemberUpdate(Tables& t, uint64_t index, const v1::MemberUpdate& cmd,
                             ApplyEffects& effects);

// Invalidates session `id` at `index`: held keys are released (or deleted, Behavior "delete")
// with a lock delay each, and the session is removed. No-op for an unknown id.
void invalidateSession(Tables& t, uint64_t index, const std::string& id, ApplyEffects& effects);

// The error text renew failures carry (the HTTP layer answers 404 with it).
std::string sessionNotFound(const std::string& id);

}  // namespace cairn::store
