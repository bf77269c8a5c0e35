// StateStore's catalog, health, session and event reads. Each is one consistent snapshot; the
// index each reports follows docs/consul-api.md §1.5.
#include <algorithm>
#include <set>

#include "core/store/state_snapshot.h"
#include "core/store/state_store.h"

namespace cairn::store {
namespace {

void sortChecks(std::vector<v1::CatalogCheck>& checks) {
  std::sort(checks.begin(), checks.end(), [](const auto& a, const auto& b) {
    return std::tie(a.node(), a.check_id()) < std::tie(b.node(), b.check_id());
  });
}

}  // namespace

NodeList StateStore::catalogNodes() const {
  Snapshot snap(db_, may_have_floor_.load());
  NodeList out;
  snap.catalog().scanNodes([&](const v1::CatalogNode& n) { out.nodes.push_back(n); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kNodes));
  return out;
}

ServiceTags StateStore::catalogServices() const {
  Snapshot snap(db_, may_have_floor_.load());
  std::map<std::string, std::set<std::string>> tags;
  snap.catalog().scanAllServices([&](const std::string&, const v1::CatalogService& s) {
    auto& set = tags[s.service()];
    set.insert(s.tags().begin(), s.tags().end());
  });
  ServiceTags out;
  for (auto& [name, set] : tags) out.services[name].assign(set.begin(), set.end());
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kServices));
  return out;
}

ServiceInstances StateStore::serviceInstances(std::string_view service, bool with_checks) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& catalog = snap.catalog();
  ServiceInstances out;
  catalog.scanServiceInstances(service, [&](const std::string& node, const v1::CatalogService& s) {
    auto n = catalog.node(node);
    if (!n) return;  // a service row always has its node; tolerate a torn image
    ServiceInstance instance{*n, s, {}};
    if (with_checks) {
      catalog.scanNodeChecks(node, [&](const v1::CatalogCheck& c) {
        if (c.service_id().empty() || c.service_id() == s.id()) instance.checks.push_back(c);
      });
      std::stable_partition(instance.checks.begin(), instance.checks.end(),
                            [](const v1::CatalogCheck& c) { return c.service_id().empty(); });
    }
    out.instances.push_back(std::move(instance));
  });
  out.index = snap.report(catalog.serviceIndex(service));
  return out;
}

NodeServices StateStore::nodeServices(std::string_view node) const {
  Snapshot snap(db_, may_have_floor_.load());
  NodeServices out;
  out.node = snap.catalog().node(node);
  if (out.node) {
    snap.catalog().scanNodeServices(
        node, [&](const v1::CatalogService& s) { out.services.push_back(s); });
  }
  out.index = snap.report(std::max(snap.catalog().tableIndex(CatalogIndex::kNodes),
                                   snap.catalog().tableIndex(CatalogIndex::kServices)));
  return out;
}

CheckList StateStore::nodeChecks(std::string_view node) const {
  Snapshot snap(db_, may_have_floor_.load());
  CheckList out;
  snap.catalog().scanNodeChecks(node, [&](const v1::CatalogCheck& c) { out.checks.push_back(c); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kChecks));
  return out;
}

CheckList StateStore::serviceChecks(std::string_view service) const {
  Snapshot snap(db_, may_have_floor_.load());
  CatalogTable& catalog = snap.catalog();
  CheckList out;
  catalog.scanServiceInstances(service, [&](const std::string& node, const v1::CatalogService& s) {
    catalog.scanNodeChecks(node, [&](const v1::CatalogCheck& c) {
      if (c.service_id() == s.id()) out.checks.push_back(c);
    });
  });
  sortChecks(out.checks);
  out.index = snap.report(catalog.serviceIndex(service));
  return out;
}

CheckList StateStore::checksInState(std::string_view state) const {
  Snapshot snap(db_, may_have_floor_.load());
  CheckList out;
  snap.catalog().scanAllChecks([&](const v1::CatalogCheck& c) {
    if (state == "any" || c.status() == state) out.checks.push_back(c);
  });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kChecks));
  return out;
}

SessionList StateStore::sessions() const {
  Snapshot snap(db_, may_have_floor_.load());
  SessionList out;
  snap.catalog().scanSessions([&](const v1::StoredSession& s) { out.sessions.push_back(s); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kSessions));
  return out;
}

SessionList StateStore::session(std::string_view id) const {
  Snapshot snap(db_, may_have_floor_.load());
  SessionList out;
  if (auto s = snap.catalog().session(id)) out.sessions.push_back(std::move(*s));
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kSessions));
  return out;
}

SessionList StateStore::nodeSessions(std::string_view node) const {
  Snapshot snap(db_, may_have_floor_.load());
  SessionList out;
  snap.catalog().scanNodeSessions(node,
                                  [&](const v1::StoredSession& s) { out.sessions.push_back(s); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kSessions));
  return out;
}

EventList StateStore::events() const {
  Snapshot snap(db_, may_have_floor_.load());
  EventList out;
  snap.catalog().scanEvents([&](const v1::UserEvent& e) { out.events.push_back(e); });
  out.index = snap.report(snap.catalog().tableIndex(CatalogIndex::kEvents));
  return out;
}

std::vector<v1::MemberRecord> StateStore::members() const {
  Snapshot snap(db_, may_have_floor_.load());
  std::vector<v1::MemberRecord> out;
  snap.catalog().scanMembers([&](const v1::MemberRecord& m) { out.push_back(m); });
  return out;
}

std::vector<NodeEntry> StateStore::allNodes() const {
  Snapshot snap(db_, may_have_floor_.load());
  std::vector<NodeEntry> out;
  snap.catalog().scanNodes([&](const v1::CatalogNode& n) { out.push_back(NodeEntry{n, {}, {}}); });
  for (NodeEntry& e : out) {
    snap.catalog().scanNodeServices(e.node.node(),
                                    [&](const v1::CatalogService& s) { e.services.push_back(s); });
    snap.catalog().scanNodeChecks(e.node.node(),
                                  [&](const v1::CatalogCheck& c) { e.checks.push_back(c); });
  }
  return out;
}

}  // namespace cairn::store
