#pragma once
// CatalogTable: the storage mapping of the catalog family (nodes, services, checks, sessions,
// session locks, user events) over a RocksDB WriteBatchWithIndex, as KvTable is for KV. Writers
// build changes into the batch (reading their own writes); readers use a throw-away batch over a
// snapshot. Node names and service names are matched case-insensitively (as Consul does): keys hold
// them lowercased, values keep the registered spelling. Not thread-safe: one table per batch.
//
// Rows (all in storage::kCatalogFamily):
//   n/<node>                      CatalogNode
//   s/<node>\0<service id>        CatalogService
//   S/<service name>\0<node>\0<id> ""  (instances by service name)
//   c/<node>\0<check id>          CatalogCheck
//   x/<session id>                StoredSession
//   N/<node>\0<session id>        ""  (sessions by node)
//   l/<session id>\0<kv key>      ""  (keys a session holds)
//   e/<ltime, 8 bytes BE>         UserEvent
//   a/<accessor id>               AclToken        (ACL rows: acl_table.cc)
//   A/<secret id>                 accessor id     (tokens by secret)
//   p/<policy id>                 AclPolicy
//   P/<policy name>               policy id       (policies by name)
//   r/<role id>                   AclRole
//   R/<role name>                 role id         (roles by name)
//   m/<node>                      MemberRecord (client agents; no catalog endpoint shows it)
//   o/autopilot                   AutopilotConfig (autopilot_store.cc)
//   q/<query id>                  PreparedQuery   (prepared queries: query_table.cc)
//   Q/<query name, lowercase>     query id        (queries by name)
//   b/<session id>\0<query id>    ""  (queries bound to a session)
// Table indexes live in the meta family (see CatalogIndex); every write also records watch keys
// (see catalogWatchKey) for the WatchHub.

#include <rocksdb/utilities/write_batch_with_index.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/v1/acl.pb.h"
#include "cairn/v1/catalog.pb.h"
#include "cairn/v1/operator.pb.h"
#include "cairn/v1/query.pb.h"
#include "core/storage/rocks_db.h"

namespace cairn::store {

enum class CatalogIndex {
  kNodes,
  kServices,
  kChecks,
  kSessions,
  kEvents,
  kAclTokens,
  kAclPolicies,
  kAclRoles,
  kPreparedQueries,
};

// The WatchHub key of a catalog table, or of one service's instances (ServiceWatch) or one node's
// entries (NodeWatch). They start with '\x01', which no KV key validated by the HTTP layer does.
std::string catalogWatchKey(CatalogIndex table);
std::string serviceWatchKey(std::string_view service_name);
std::string nodeWatchKey(std::string_view node);

std::string lowercase(std::string_view s);

class CatalogTable {
 public:
  // `snapshot` may be null (latest state). The batch, db and snapshot outlive the table.
  CatalogTable(const storage::RocksDb& db, rocksdb::WriteBatchWithIndex& batch,
               const rocksdb::Snapshot* snapshot = nullptr);

  // Nodes.
  std::optional<v1::CatalogNode> node(std::string_view name);
  void scanNodes(const std::function<void(const v1::CatalogNode&)>& visit);
  void putNode(const v1::CatalogNode& node);
  void removeNode(std::string_view name, uint64_t index);

  // Services.
  std::optional<v1::CatalogService> service(std::string_view node, std::string_view id);
  void scanNodeServices(std::string_view node,
                        const std::function<void(const v1::CatalogService&)>& visit);
  // Every instance of `name` (case-insensitive), as (node name key, service).
  void scanServiceInstances(
      std::string_view name,
      const std::function<void(const std::string& node, const v1::CatalogService&)>& visit);
  void scanAllServices(
      const std::function<void(const std::string& node, const v1::CatalogService&)>& visit);
  void putService(std::string_view node, const v1::CatalogService& service);
  void removeService(std::string_view node, std::string_view id, uint64_t index);

  // Checks.
  std::optional<v1::CatalogCheck> check(std::string_view node, std::string_view id);
  void scanNodeChecks(std::string_view node,
                      const std::function<void(const v1::CatalogCheck&)>& visit);
  void scanAllChecks(const std::function<void(const v1::CatalogCheck&)>& visit);
  void putCheck(const v1::CatalogCheck& check);
  void removeCheck(std::string_view node, std::string_view id, uint64_t index);

  // Sessions and the keys they hold.
  std::optional<v1::StoredSession> session(std::string_view id);
  void scanSessions(const std::function<void(const v1::StoredSession&)>& visit);
  void scanNodeSessions(std::string_view node,
                        const std::function<void(const v1::StoredSession&)>& visit);
  void putSession(const v1::StoredSession& session);
  void removeSession(const v1::StoredSession& session, uint64_t index);
  void scanHeldKeys(std::string_view session, const std::function<void(const std::string&)>& visit);
  void setHeld(std::string_view session, std::string_view key, bool held);

  // The autopilot configuration (autopilot_store.cc); nullopt until first set.
  std::optional<v1::AutopilotConfig> autopilotConfig();
  void putAutopilotConfig(const v1::AutopilotConfig& config);

  // User events, oldest first.
  void scanEvents(const std::function<void(const v1::UserEvent&)>& visit);
  uint64_t lastEventTime();
  // Stores `event` (its ltime set) and drops events older than the newest `keep`.
  void putEvent(const v1::UserEvent& event, size_t keep, uint64_t index);

  // ACL tokens, policies and roles (acl_table.cc). put* keep the by-secret and by-name rows in
  // step (dropping the old ones when a secret or name changes) and bump the table's index to the
  // row's modify index.
  std::optional<v1::AclToken> aclToken(std::string_view accessor_id);
  std::optional<v1::AclToken> aclTokenBySecret(std::string_view secret_id);
  void scanAclTokens(const std::function<void(const v1::AclToken&)>& visit);
  void putAclToken(const v1::AclToken& token);
  void removeAclToken(const v1::AclToken& token, uint64_t index);
  std::optional<v1::AclPolicy> aclPolicy(std::string_view id);
  std::optional<v1::AclPolicy> aclPolicyByName(std::string_view name);
  void scanAclPolicies(const std::function<void(const v1::AclPolicy&)>& visit);
  void putAclPolicy(const v1::AclPolicy& policy);
  void removeAclPolicy(const v1::AclPolicy& policy, uint64_t index);
  std::optional<v1::AclRole> aclRole(std::string_view id);
  std::optional<v1::AclRole> aclRoleByName(std::string_view name);
  void scanAclRoles(const std::function<void(const v1::AclRole&)>& visit);
  void putAclRole(const v1::AclRole& role);
  void removeAclRole(const v1::AclRole& role, uint64_t index);
  // The index PUT /v1/acl/bootstrap succeeded at; 0 before.
  uint64_t aclBootstrapIndex() { return metaIndex("acl_bootstrap_index"); }
  void setAclBootstrapIndex(uint64_t index) { bumpMeta("acl_bootstrap_index", index); }
  // Prepared queries (query_table.cc). Names are unique case-insensitively; put keeps the by-name
  // and by-session rows in step and bumps the table's index to the query's modify index.
  std::optional<v1::PreparedQuery> preparedQuery(std::string_view id);
  std::optional<v1::PreparedQuery> preparedQueryByName(std::string_view name);
  void scanPreparedQueries(const std::function<void(const v1::PreparedQuery&)>& visit);
  // IDs of the queries bound to `session`.
  std::vector<std::string> sessionQueryIds(std::string_view session);
  void putPreparedQuery(const v1::PreparedQuery& query);
  void removePreparedQuery(const v1::PreparedQuery& query, uint64_t index);
  // Client-agent member records.
  std::optional<v1::MemberRecord> member(std::string_view name);
  void scanMembers(const std::function<void(const v1::MemberRecord&)>& visit);
  void putMember(const v1::MemberRecord& record);
  void removeMember(std::string_view name);

  // The index of the latest change to a table (0 when never changed), and of one service's
  // instances (their registration, checks or nodes).
  uint64_t tableIndex(CatalogIndex table);
  uint64_t serviceIndex(std::string_view service_name);
  void bumpTable(CatalogIndex table, uint64_t index);
  void bumpService(std::string_view service_name, uint64_t index);
  void touchNode(std::string_view node) { touched_.insert(nodeWatchKey(lowercase(node))); }

  const std::set<std::string>& touched() const { return touched_; }

 private:
  std::optional<std::string> getRow(std::string_view key);
  void scanRows(std::string_view prefix,
                const std::function<void(std::string_view key, std::string_view value)>& visit);
  void putRow(std::string_view key, std::string_view value);
  void deleteRow(std::string_view key);
  uint64_t metaIndex(std::string_view name);
  void bumpMeta(std::string_view name, uint64_t index);

  const storage::RocksDb& db_;
  rocksdb::WriteBatchWithIndex& batch_;
  rocksdb::ReadOptions read_options_;
  rocksdb::ColumnFamilyHandle* catalog_;
  rocksdb::ColumnFamilyHandle* meta_;
  std::set<std::string> touched_;
};

}  // namespace cairn::store
