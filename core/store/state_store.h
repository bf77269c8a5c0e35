#pragma once
// StateStore: Cairn's replicated state machine. Every change arrives as a committed log entry and
// goes through apply(); nothing else writes state. Reads are served from consistent RocksDB
// snapshots on any thread.

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/commands.pb.h"
#include "cairn/v1/state_image.pb.h"
#include "core/base/clock.h"
#include "core/storage/rocks_db.h"
#include "core/store/acl_types.h"
#include "core/store/catalog_apply.h"
#include "core/store/catalog_types.h"
#include "core/store/kv_types.h"
#include "core/store/watch_hub.h"

namespace cairn::store {

// A committed command at its log index. The command outlives the apply() call.
struct LogEntry {
  uint64_t index;
  const v1::Command* command;
};

// Told, on the applier's thread after each batch is written, of sessions whose TTL clock
// (re)starts or that ended (the session reaper keeps the timers). Must be quick.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  virtual void onSessionClock(const SessionClock& clock) = 0;
};

class StateStore {
 public:
  // Resumes from the applied index recorded in `db`. The arguments outlive the store; `clock`
  // (lock delays) defaults to the system clock.
  StateStore(storage::RocksDb& db, WatchHub& watches, const Clock* clock = nullptr);

  // Set before apply() is first called; may be null.
  void setSessionObserver(SessionObserver* observer) { session_observer_ = observer; }

  // Applies `entries` in order, in ONE RocksDB WriteBatch that also records the last index as the
  // applied index, then wakes the watchers of the touched keys. Contract: called from a single
  // thread; indexes strictly increase and exceed appliedIndex(). `sync` makes the batch durable
  // before returning (needed when there is no separate durable log). Returns one outcome per
  // applied entry. A failed write (disk full) applies nothing of its batch: the outcomes returned
  // are those of the entries applied before it (a prefix), *status says why, and the caller
  // applies the rest later. Corruption met by a read the batch needs (storage::ReadError) fails
  // the batch the same way. Without `status`, a failed write is fatal.
  //
  // A Restore command (PUT /v1/snapshot) is written on its own: the state becomes the image's
  // content, the applied index becomes the ENTRY's index, and every watcher wakes. Indexes stay
  // monotonic across it: every index a read reports afterwards is at least the entry's index (the
  // "index floor"), so blocking queries waiting across the restore return. An image that fails
  // parseStateImage() changes nothing but the applied index and yields a failed outcome whose
  // error says why, identically on every replica.
  std::vector<TxnOutcome> apply(std::span<const LogEntry> entries, bool sync,
                                Status* status = nullptr);

  // The whole state (meta, kv, kv_tombstones) as a serialized cairn.v1.StateImage, read from one
  // RocksDB snapshot: it never blocks apply(). Sets *applied_index (if given) to the image's
  // applied index. Thread-safe.
  std::string image(uint64_t* applied_index = nullptr) const;

  // Replaces the whole state with `image` (a serialized StateImage) in one synced WriteBatch,
  // including the image's applied index, then wakes every watcher. Used to install a Raft
  // snapshot; the image's applied index should not be below appliedIndex(). A corrupt or
  // unsupported image is rejected (kInvalidArgument, state unchanged), as is a failed write
  // (kUnavailable, "disk full: ..."; state unchanged). Same thread as apply().
  Status restore(std::string_view image);

  // Highest applied index (0 for a fresh store). Thread-safe.
  uint64_t appliedIndex() const { return applied_index_.load(std::memory_order_acquire); }

  // Reads: thread-safe; each is one consistent snapshot. Indexes are never 0.
  KvGetResult get(std::string_view key) const;
  KvListResult list(std::string_view prefix) const;
  // Keys under `prefix`; with a separator, each key is cut just after the first separator that
  // follows the prefix, and duplicates are dropped.
  KvKeysResult keys(std::string_view prefix, std::string_view separator) const;
  // Runs a read-only txn (see isReadOnly) against the current state.
  TxnOutcome readTxn(const v1::Txn& txn) const;

  // True while `key` is under the lock delay of an invalidated session (acquire must fail).
  bool lockDelayed(std::string_view key) const;

  // Catalog, health, session and event reads (catalog_reads.cc); indexes: docs/consul-api.md §1.5.
  NodeList catalogNodes() const;
  ServiceTags catalogServices() const;
  // Instances of `service` (case-insensitive) with, when `with_checks`, their node's checks and
  // their own checks.
  ServiceInstances serviceInstances(std::string_view service, bool with_checks) const;
  NodeServices nodeServices(std::string_view node) const;
  CheckList nodeChecks(std::string_view node) const;
  CheckList serviceChecks(std::string_view service) const;
  // Checks in `state` (passing | warning | critical), or every check for "any".
  CheckList checksInState(std::string_view state) const;
  SessionList sessions() const;
  SessionList session(std::string_view id) const;
  SessionList nodeSessions(std::string_view node) const;
  EventList events() const;
  // The replicated autopilot configuration, Consul's defaults until set (autopilot_store.cc).
  v1::AutopilotConfig autopilotConfig() const;
  // Client-agent member records (every status), by lowercase name.
  std::vector<v1::MemberRecord> members() const;
  // Every service instance, for anti-entropy and the DNS PTR lookups (no index).
  std::vector<NodeEntry> allNodes() const;

  // ACL reads (acl_reads.cc). Policies and roles are found by ID, or by name when `by_name`.
  AclRead<v1::AclToken> aclToken(std::string_view accessor_id) const;
  AclList<v1::AclToken> aclTokens() const;
  AclRead<v1::AclPolicy> aclPolicy(std::string_view id, bool by_name = false) const;
  AclList<v1::AclPolicy> aclPolicies() const;
  AclRead<v1::AclRole> aclRole(std::string_view id, bool by_name = false) const;
  AclList<v1::AclRole> aclRoles() const;
  // The token holding `secret_id` with its policies and roles, from one snapshot.
  std::optional<AclIdentity> aclIdentity(std::string_view secret_id) const;
  // The index bootstrap succeeded at, 0 before.
  uint64_t aclBootstrapIndex() const;

  // Prepared-query reads (query_reads.cc); indexes are the queries table's.
  QueryList preparedQueries() const;
  QueryRead preparedQuery(std::string_view id) const;
  // Consul's lookup for execute, explain and DNS: by ID, else by exact name (case-insensitive),
  // else the template whose name is the longest prefix of `id_or_name`. Not rendered.
  QueryRead resolvePreparedQuery(std::string_view id_or_name) const;

 private:
  class Snapshot;
  uint64_t listIndex(Snapshot& snap, std::string_view prefix, uint64_t max_modify) const;
  // apply() for a run of entries without Restore commands: one WriteBatch.
  Status applyTxns(std::span<const LogEntry> entries, bool sync, std::vector<TxnOutcome>& out);
  static TxnOutcome applyCommand(Tables& tables, const LogEntry& entry, ApplyEffects& effects);
  void publishEffects(const ApplyEffects& effects);
  Status applyRestore(const LogEntry& entry, bool sync, std::vector<TxnOutcome>& out);
  // Replaces meta, kv and kv_tombstones with `image`, records `applied` as the applied index and,
  // when non-zero, `floor` as the index floor; then wakes every watcher.
  Status writeImage(const v1::StateImage& image, uint64_t applied, uint64_t floor, bool sync);

  storage::RocksDb& db_;
  WatchHub& watches_;
  const Clock& clock_;
  SessionObserver* session_observer_ = nullptr;
  mutable std::mutex lock_delay_mu_;
  std::map<std::string, SteadyTime, std::less<>> lock_delays_;  // key -> end of its delay
  std::atomic<uint64_t> applied_index_{0};
  // True once an index floor may exist (set before it is written): until then reads skip it.
  std::atomic<bool> may_have_floor_{false};
};

}  // namespace cairn::store
