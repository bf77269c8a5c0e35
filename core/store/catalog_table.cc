#include "core/store/catalog_table.h"

#include <memory>

#include "core/base/check.h"
#include "core/store/kv_table.h"

namespace cairn::store {
namespace {

constexpr char kSep = '\0';

const char* indexName(CatalogIndex table) {
  switch (table) {
    case CatalogIndex::kNodes:
      return "nodes_index";
    case CatalogIndex::kServices:
      return "services_index";
    case CatalogIndex::kChecks:
      return "checks_index";
    case CatalogIndex::kSessions:
      return "sessions_index";
    case CatalogIndex::kEvents:
      return "events_index";
    case CatalogIndex::kAclTokens:
      return "acl_tokens_index";
    case CatalogIndex::kAclPolicies:
      return "acl_policies_index";
    case CatalogIndex::kAclRoles:
      return "acl_roles_index";
    case CatalogIndex::kPreparedQueries:
      return "prepared_queries_index";
  }
  return "unknown_index";
}

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  bool first = true;
  for (std::string_view p : parts) {
    if (!first) out.push_back(kSep);
    out.append(p);
    first = false;
  }
  return out;
}

std::string nodeRow(std::string_view node) { return "n/" + lowercase(node); }
std::string servicePrefix(std::string_view node) { return "s/" + lowercase(node) + kSep; }
std::string serviceRow(std::string_view node, std::string_view id) {
  return servicePrefix(node) + std::string(id);
}
std::string namePrefix(std::string_view name) { return "S/" + lowercase(name) + kSep; }
std::string nameRow(std::string_view name, std::string_view node, std::string_view id) {
  return namePrefix(name) + join({lowercase(node), id});
}
std::string checkPrefix(std::string_view node) { return "c/" + lowercase(node) + kSep; }
std::string checkRow(std::string_view node, std::string_view id) {
  return checkPrefix(node) + std::string(id);
}
std::string sessionRow(std::string_view id) { return "x/" + std::string(id); }
std::string nodeSessionPrefix(std::string_view node) { return "N/" + lowercase(node) + kSep; }
std::string heldPrefix(std::string_view session) { return "l/" + std::string(session) + kSep; }
std::string eventRow(uint64_t ltime) { return "e/" + storage::encodeU64(ltime); }
std::string memberRow(std::string_view name) { return "m/" + lowercase(name); }

template <typename Message>
Message decode(std::string_view bytes) {
  Message m;
  CHECK_MSG(m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())),
            "corrupt catalog row in the state store");
  return m;
}

// The part of `key` after the last separator.
std::string_view lastPart(std::string_view key) {
  size_t at = key.rfind(kSep);
  return at == std::string_view::npos ? key : key.substr(at + 1);
}

}  // namespace

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string catalogWatchKey(CatalogIndex table) { return std::string("\x01") + indexName(table); }
std::string serviceWatchKey(std::string_view name) { return "\x01service/" + lowercase(name); }
std::string nodeWatchKey(std::string_view node) { return "\x01node/" + lowercase(node); }

CatalogTable::CatalogTable(const storage::RocksDb& db, rocksdb::WriteBatchWithIndex& batch,
                           const rocksdb::Snapshot* snapshot)
    : db_(db),
      batch_(batch),
      catalog_(db.family(storage::kCatalogFamily)),
      meta_(db.family(storage::kMetaFamily)) {
  read_options_.snapshot = snapshot;
}

std::optional<std::string> CatalogTable::getRow(std::string_view key) {
  std::string bytes;
  rocksdb::Status s = batch_.GetFromBatchAndDB(db_.db(), read_options_, catalog_, key, &bytes);
  if (s.IsNotFound()) return std::nullopt;
  db_.checkRead(s, "reading a catalog row");
  return bytes;
}

void CatalogTable::scanRows(
    std::string_view prefix,
    const std::function<void(std::string_view key, std::string_view value)>& visit) {
  std::unique_ptr<rocksdb::Iterator> it(
      batch_.NewIteratorWithBase(catalog_, db_.db()->NewIterator(read_options_, catalog_)));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    std::string_view key = it->key().ToStringView();
    if (key.substr(0, prefix.size()) != prefix) break;
    visit(key, it->value().ToStringView());
  }
  db_.checkRead(it->status(), "scanning catalog rows");
}

void CatalogTable::putRow(std::string_view key, std::string_view value) {
  CHECK(batch_.Put(catalog_, key, value).ok());
}

void CatalogTable::deleteRow(std::string_view key) { CHECK(batch_.Delete(catalog_, key).ok()); }

uint64_t CatalogTable::metaIndex(std::string_view name) {
  std::string bytes;
  rocksdb::Status s = batch_.GetFromBatchAndDB(db_.db(), read_options_, meta_, name, &bytes);
  return s.ok() ? storage::decodeU64(bytes) : 0;
}

void CatalogTable::bumpMeta(std::string_view name, uint64_t index) {
  if (index > metaIndex(name)) CHECK(batch_.Put(meta_, name, storage::encodeU64(index)).ok());
}

uint64_t CatalogTable::tableIndex(CatalogIndex table) { return metaIndex(indexName(table)); }

uint64_t CatalogTable::serviceIndex(std::string_view name) {
  return metaIndex("service_index/" + lowercase(name));
}

void CatalogTable::bumpTable(CatalogIndex table, uint64_t index) {
  bumpMeta(indexName(table), index);
  touched_.insert(catalogWatchKey(table));
}

void CatalogTable::bumpService(std::string_view name, uint64_t index) {
  bumpMeta("service_index/" + lowercase(name), index);
  touched_.insert(serviceWatchKey(name));
}

std::optional<v1::CatalogNode> CatalogTable::node(std::string_view name) {
  auto row = getRow(nodeRow(name));
  if (!row) return std::nullopt;
  return decode<v1::CatalogNode>(*row);
}

void CatalogTable::scanNodes(const std::function<void(const v1::CatalogNode&)>& visit) {
  scanRows("n/", [&](std::string_view, std::string_view v) { visit(decode<v1::CatalogNode>(v)); });
}

void CatalogTable::putNode(const v1::CatalogNode& node) {
  putRow(nodeRow(node.node()), node.SerializeAsString());
  bumpTable(CatalogIndex::kNodes, node.modify_index());
  touchNode(node.node());
}

void CatalogTable::removeNode(std::string_view name, uint64_t index) {
  deleteRow(nodeRow(name));
  bumpTable(CatalogIndex::kNodes, index);
  touchNode(name);
}

std::optional<v1::CatalogService> CatalogTable::service(std::string_view node,
                                                        std::string_view id) {
  auto row = getRow(serviceRow(node, id));
  if (!row) return std::nullopt;
  return decode<v1::CatalogService>(*row);
}

void CatalogTable::scanNodeServices(std::string_view node,
                                    const std::function<void(const v1::CatalogService&)>& visit) {
  scanRows(servicePrefix(node),
           [&](std::string_view, std::string_view v) { visit(decode<v1::CatalogService>(v)); });
}

void CatalogTable::scanServiceInstances(
    std::string_view name,
    const std::function<void(const std::string& node, const v1::CatalogService&)>& visit) {
  std::string prefix = namePrefix(name);
  std::vector<std::pair<std::string, std::string>> refs;  // (node key, id)
  scanRows(prefix, [&](std::string_view key, std::string_view) {
    std::string_view rest = key.substr(prefix.size());
    size_t at = rest.find(kSep);
    CHECK_MSG(at != std::string_view::npos, "corrupt service name index row");
    refs.emplace_back(std::string(rest.substr(0, at)), std::string(rest.substr(at + 1)));
  });
  for (const auto& [node, id] : refs) {
    auto svc = service(node, id);
    CHECK_MSG(svc.has_value(), "service name index names a missing service");
    visit(node, *svc);
  }
}

void CatalogTable::scanAllServices(
    const std::function<void(const std::string& node, const v1::CatalogService&)>& visit) {
  scanRows("s/", [&](std::string_view key, std::string_view v) {
    std::string_view rest = key.substr(2);
    visit(std::string(rest.substr(0, rest.find(kSep))), decode<v1::CatalogService>(v));
  });
}

void CatalogTable::putService(std::string_view node, const v1::CatalogService& svc) {
  if (auto old = service(node, svc.id());
      old && lowercase(old->service()) != lowercase(svc.service())) {
    deleteRow(nameRow(old->service(), node, svc.id()));
    bumpService(old->service(), svc.modify_index());
  }
  putRow(serviceRow(node, svc.id()), svc.SerializeAsString());
  putRow(nameRow(svc.service(), node, svc.id()), "");
  bumpTable(CatalogIndex::kServices, svc.modify_index());
  bumpService(svc.service(), svc.modify_index());
  touchNode(node);
}

void CatalogTable::removeService(std::string_view node, std::string_view id, uint64_t index) {
  auto old = service(node, id);
  if (!old) return;
  deleteRow(serviceRow(node, id));
  deleteRow(nameRow(old->service(), node, id));
  bumpTable(CatalogIndex::kServices, index);
  bumpService(old->service(), index);
  touchNode(node);
}

std::optional<v1::CatalogCheck> CatalogTable::check(std::string_view node, std::string_view id) {
  auto row = getRow(checkRow(node, id));
  if (!row) return std::nullopt;
  return decode<v1::CatalogCheck>(*row);
}

void CatalogTable::scanNodeChecks(std::string_view node,
                                  const std::function<void(const v1::CatalogCheck&)>& visit) {
  scanRows(checkPrefix(node),
           [&](std::string_view, std::string_view v) { visit(decode<v1::CatalogCheck>(v)); });
}

void CatalogTable::scanAllChecks(const std::function<void(const v1::CatalogCheck&)>& visit) {
  scanRows("c/", [&](std::string_view, std::string_view v) { visit(decode<v1::CatalogCheck>(v)); });
}

void CatalogTable::putCheck(const v1::CatalogCheck& check) {
  putRow(checkRow(check.node(), check.check_id()), check.SerializeAsString());
  bumpTable(CatalogIndex::kChecks, check.modify_index());
  touchNode(check.node());
}

void CatalogTable::removeCheck(std::string_view node, std::string_view id, uint64_t index) {
  deleteRow(checkRow(node, id));
  bumpTable(CatalogIndex::kChecks, index);
  touchNode(node);
}

std::optional<v1::StoredSession> CatalogTable::session(std::string_view id) {
  auto row = getRow(sessionRow(id));
  if (!row) return std::nullopt;
  return decode<v1::StoredSession>(*row);
}

void CatalogTable::scanSessions(const std::function<void(const v1::StoredSession&)>& visit) {
  scanRows("x/",
           [&](std::string_view, std::string_view v) { visit(decode<v1::StoredSession>(v)); });
}

void CatalogTable::scanNodeSessions(std::string_view node,
                                    const std::function<void(const v1::StoredSession&)>& visit) {
  std::vector<std::string> ids;
  scanRows(nodeSessionPrefix(node),
           [&](std::string_view key, std::string_view) { ids.emplace_back(lastPart(key)); });
  for (const auto& id : ids) {
    auto s = session(id);
    CHECK_MSG(s.has_value(), "node session index names a missing session");
    visit(*s);
  }
}

void CatalogTable::putSession(const v1::StoredSession& s) {
  putRow(sessionRow(s.id()), s.SerializeAsString());
  putRow(nodeSessionPrefix(s.node()) + s.id(), "");
  bumpTable(CatalogIndex::kSessions, s.modify_index());
}

void CatalogTable::removeSession(const v1::StoredSession& s, uint64_t index) {
  deleteRow(sessionRow(s.id()));
  deleteRow(nodeSessionPrefix(s.node()) + s.id());
  bumpTable(CatalogIndex::kSessions, index);
}

void CatalogTable::scanHeldKeys(std::string_view session,
                                const std::function<void(const std::string&)>& visit) {
  std::string prefix = heldPrefix(session);
  std::vector<std::string> keys;
  scanRows(prefix, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key.substr(prefix.size()));
  });
  for (const auto& k : keys) visit(k);
}

void CatalogTable::setHeld(std::string_view session, std::string_view key, bool held) {
  std::string row = heldPrefix(session) + std::string(key);
  if (held) {
    putRow(row, "");
  } else {
    deleteRow(row);
  }
}

void CatalogTable::scanEvents(const std::function<void(const v1::UserEvent&)>& visit) {
  scanRows("e/", [&](std::string_view, std::string_view v) { visit(decode<v1::UserEvent>(v)); });
}

uint64_t CatalogTable::lastEventTime() { return metaIndex("event_ltime"); }

void CatalogTable::putEvent(const v1::UserEvent& event, size_t keep, uint64_t index) {
  putRow(eventRow(event.ltime()), event.SerializeAsString());
  bumpMeta("event_ltime", event.ltime());
  std::vector<std::string> expired;
  scanRows("e/", [&](std::string_view key, std::string_view) {
    if (storage::decodeU64(key.substr(2)) + keep <= event.ltime()) expired.emplace_back(key);
  });
  for (const auto& key : expired) deleteRow(key);
  bumpTable(CatalogIndex::kEvents, index);
}

std::optional<v1::MemberRecord> CatalogTable::member(std::string_view name) {
  auto row = getRow(memberRow(name));
  if (!row) return std::nullopt;
  return decode<v1::MemberRecord>(*row);
}

void CatalogTable::scanMembers(const std::function<void(const v1::MemberRecord&)>& visit) {
  scanRows("m/", [&](std::string_view, std::string_view v) { visit(decode<v1::MemberRecord>(v)); });
}

void CatalogTable::putMember(const v1::MemberRecord& record) {
  putRow(memberRow(record.member().node_name()), record.SerializeAsString());
}

void CatalogTable::removeMember(std::string_view name) { deleteRow(memberRow(name)); }

}  // namespace cairn::store
