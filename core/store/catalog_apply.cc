#include "core/store/catalog_apply.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>

#include "core/store/query_apply.h"

namespace cairn::store {
namespace {

using google::protobuf::util::MessageDifferencer;

TxnOutcome failed(std::string what) {
  return TxnOutcome{false, {}, {TxnError{0, std::move(what)}}};
}

// True when `next` differs from `existing` in anything but its indexes.
template <typename Message>
bool changed(const std::optional<Message>& existing, Message next) {
  if (!existing) return true;
  next.set_create_index(existing->create_index());
  next.set_modify_index(existing->modify_index());
  return !MessageDifferencer::Equals(*existing, next);
}

// Stamps indexes on `next` (CreateIndex kept from `existing`); false when nothing changed.
template <typename Message>
bool stamp(const std::optional<Message>& existing, Message& next, uint64_t index) {
  if (!changed(existing, next)) return false;
  next.set_create_index(existing ? existing->create_index() : index);
  next.set_modify_index(index);
  return true;
}

// Every service on `node` changes health when a node-level check or the node itself changes.
void bumpNodeServices(Tables& t, const std::string& node, uint64_t index) {
  t.catalog.scanNodeServices(
      node, [&](const v1::CatalogService& s) { t.catalog.bumpService(s.service(), index); });
}

bool sessionUsesCheck(const v1::StoredSession& s, const std::string& check_id) {
  auto& node_checks = s.node_checks();
  if (std::find(node_checks.begin(), node_checks.end(), check_id) != node_checks.end()) {
    return true;
  }
  return std::any_of(s.service_checks().begin(), s.service_checks().end(),
                     [&](const v1::SessionServiceCheck& c) { return c.id() == check_id; });
}

// Invalidates the sessions of `node` that depend on `check_id` (critical or removed check).
void invalidateSessionsOf(Tables& t, uint64_t index, const std::string& node,
                          const std::string& check_id, ApplyEffects& effects) {
  std::vector<std::string> ids;
  t.catalog.scanNodeSessions(node, [&](const v1::StoredSession& s) {
    if (sessionUsesCheck(s, check_id)) ids.push_back(s.id());
  });
  for (const auto& id : ids) invalidateSession(t, index, id, effects);
}

void upsertNode(Tables& t, uint64_t index, const v1::CatalogRegister& cmd) {
  auto existing = t.catalog.node(cmd.node().node());
  if (existing && cmd.skip_node_update()) return;
  v1::CatalogNode next = cmd.node();
  if (!stamp(existing, next, index)) return;
  t.catalog.putNode(next);
  bumpNodeServices(t, next.node(), index);
}

void upsertService(Tables& t, uint64_t index, const std::string& node, v1::CatalogService next) {
  if (next.id().empty()) next.set_id(next.service());
  if (next.weight_passing() == 0) next.set_weight_passing(1);
  if (next.weight_warning() == 0) next.set_weight_warning(1);
  auto existing = t.catalog.service(node, next.id());
  if (!stamp(existing, next, index)) return;
  t.catalog.putService(node, next);
}

Status upsertCheck(Tables& t, uint64_t index, const std::string& node, v1::CatalogCheck next,
                   ApplyEffects& effects) {
  next.set_node(node);
  if (next.check_id().empty()) next.set_check_id(next.name());
  if (next.status().empty()) next.set_status("critical");
  next.clear_service_name();
  next.clear_service_tags();
  std::optional<v1::CatalogService> svc;
  if (!next.service_id().empty()) {
    svc = t.catalog.service(node, next.service_id());
    if (!svc) return invalidArgument("Missing service registration");
    next.set_service_name(svc->service());
    for (const auto& tag : svc->tags()) next.add_service_tags(tag);
  }
  auto existing = t.catalog.check(node, next.check_id());
  if (!stamp(existing, next, index)) return Status::ok();
  t.catalog.putCheck(next);
  if (svc) {
    t.catalog.bumpService(svc->service(), index);
  } else {
    bumpNodeServices(t, node, index);
  }
  if (existing && !existing->service_id().empty() && existing->service_id() != next.service_id()) {
    if (auto old = t.catalog.service(node, existing->service_id())) {
      t.catalog.bumpService(old->service(), index);
    }
  }
  if (next.status() == "critical") invalidateSessionsOf(t, index, node, next.check_id(), effects);
  return Status::ok();
}

void removeCheck(Tables& t, uint64_t index, const std::string& node, const std::string& id,
                 ApplyEffects& effects) {
  auto check = t.catalog.check(node, id);
  if (!check) return;
  t.catalog.removeCheck(node, id, index);
  if (check->service_id().empty()) {
    bumpNodeServices(t, node, index);
  } else if (auto svc = t.catalog.service(node, check->service_id())) {
    t.catalog.bumpService(svc->service(), index);
  }
  invalidateSessionsOf(t, index, node, id, effects);
}

void removeService(Tables& t, uint64_t index, const std::string& node, const std::string& id,
                   ApplyEffects& effects) {
  if (!t.catalog.service(node, id)) return;
  std::vector<std::string> checks;
  t.catalog.scanNodeChecks(node, [&](const v1::CatalogCheck& c) {
    if (c.service_id() == id) checks.push_back(c.check_id());
  });
  for (const auto& c : checks) removeCheck(t, index, node, c, effects);
  t.catalog.removeService(node, id, index);
}

void removeNode(Tables& t, uint64_t index, const std::string& node, ApplyEffects& effects) {
  std::vector<std::string> services, checks, sessions;
  t.catalog.scanNodeServices(node,
                             [&](const v1::CatalogService& s) { services.push_back(s.id()); });
  t.catalog.scanNodeChecks(node,
                           [&](const v1::CatalogCheck& c) { checks.push_back(c.check_id()); });
  t.catalog.scanNodeSessions(node, [&](const v1::StoredSession& s) { sessions.push_back(s.id()); });
  for (const auto& s : sessions) invalidateSession(t, index, s, effects);
  for (const auto& c : checks) removeCheck(t, index, node, c, effects);
  for (const auto& s : services) removeService(t, index, node, s, effects);
  t.catalog.removeNode(node, index);
}

Status validateSessionChecks(Tables& t, const v1::StoredSession& s) {
  auto require = [&](const std::string& id) -> Status {
    auto check = t.catalog.check(s.node(), id);
    if (!check) return invalidArgument("Missing check '" + id + "' registration");
    if (check->status() == "critical") {
      return invalidArgument("Check '" + id + "' is in critical state");
    }
    return Status::ok();
  };
  for (const auto& id : s.node_checks()) CAIRN_RETURN_IF_ERROR(require(id));
  for (const auto& c : s.service_checks()) CAIRN_RETURN_IF_ERROR(require(c.id()));
  return Status::ok();
}

}  // namespace

std::string sessionNotFound(const std::string& id) { return "Session id '" + id + "' not found"; }

TxnOutcome applyCatalogRegister(Tables& t, uint64_t index, const v1::CatalogRegister& cmd,
                                ApplyEffects& effects) {
  const std::string& node = cmd.node().node();
  if (node.empty() || cmd.node().address().empty()) {
    return failed("Must provide node and address");
  }
  if (cmd.has_service() && cmd.service().service().empty()) {
    return failed("Must provide service name");
  }
  t.kv.savepoint();
  ApplyEffects own;
  upsertNode(t, index, cmd);
  if (cmd.has_service()) upsertService(t, index, node, cmd.service());
  for (const auto& check : cmd.checks()) {
    if (Status s = upsertCheck(t, index, node, check, own); !s.isOk()) {
      t.kv.rollback();
      return failed(s.message());
    }
  }
  effects.lock_delays.insert(effects.lock_delays.end(), own.lock_delays.begin(),
                             own.lock_delays.end());
  effects.sessions.insert(effects.sessions.end(), own.sessions.begin(), own.sessions.end());
  t.kv.release();
  return TxnOutcome{};
}

TxnOutcome applyCatalogDeregister(Tables& t, uint64_t index, const v1::CatalogDeregister& cmd,
                                  ApplyEffects& effects) {
  if (cmd.node().empty()) return failed("Must provide node");
  if (!t.catalog.node(cmd.node())) return TxnOutcome{};
  if (!cmd.service_id().empty()) {
    removeService(t, index, cmd.node(), cmd.service_id(), effects);
  } else if (!cmd.check_id().empty()) {
    removeCheck(t, index, cmd.node(), cmd.check_id(), effects);
  } else {
    removeNode(t, index, cmd.node(), effects);
  }
  return TxnOutcome{};
}

TxnOutcome applySessionCreate(Tables& t, uint64_t index, const v1::SessionCreate& cmd,
                              ApplyEffects& effects) {
  v1::StoredSession s = cmd.session();
  if (s.id().empty()) return failed("Missing session ID");
  if (t.catalog.session(s.id())) return failed("Session ID already exists");
  auto node = t.catalog.node(s.node());
  if (!node) return failed("Missing node registration");
  s.set_node(node->node());
  if (Status st = validateSessionChecks(t, s); !st.isOk()) return failed(st.message());
  s.set_create_index(index);
  s.set_modify_index(index);
  t.catalog.putSession(s);
  effects.sessions.push_back(SessionClock{s.id(), s.ttl(), false});
  return TxnOutcome{};
}

TxnOutcome applySessionDestroy(Tables& t, uint64_t index, const v1::SessionDestroy& cmd,
                               ApplyEffects& effects) {
  invalidateSession(t, index, cmd.id(), effects);
  return TxnOutcome{};
}

TxnOutcome applySessionRenew(Tables& t, const v1::SessionRenew& cmd, ApplyEffects& effects) {
  auto s = t.catalog.session(cmd.id());
  if (!s) return failed(sessionNotFound(cmd.id()));
  effects.sessions.push_back(SessionClock{s->id(), s->ttl(), false});
  return TxnOutcome{};
}

TxnOutcome applyEventFire(Tables& t, uint64_t index, const v1::EventFire& cmd) {
  v1::UserEvent event = cmd.event();
  event.set_ltime(t.catalog.lastEventTime() + 1);
  t.catalog.putEvent(event, kEventsKept, index);
  return TxnOutcome{};
}

void invalidateSession(Tables& t, uint64_t index, const std::string& id, ApplyEffects& effects) {
  auto s = t.catalog.session(id);
  if (!s) return;
  int64_t delay = std::min(s->lock_delay_ns(), kMaxLockDelayNs);
  t.catalog.scanHeldKeys(id, [&](const std::string& key) {
    t.catalog.setHeld(id, key, false);
    auto entry = t.kv.get(key);
    if (!entry || entry->session != id) return;
    if (s->behavior() == "delete") {
      t.kv.remove(key, index);
    } else {
      entry->session.clear();
      entry->modify_index = index;
      t.kv.put(*entry);
    }
    if (delay > 0) effects.lock_delays.push_back(LockDelay{key, delay});
  });
  t.catalog.removeSession(*s, index);
  deleteSessionQueries(t, index, id);
  effects.sessions.push_back(SessionClock{id, "", true});
}

TxnOutcome applyMemberUpdate(Tables& t, uint64_t index, const v1::MemberUpdate& cmd,
                             ApplyEffects& effects) {
  std::string name = cmd.remove().empty() ? cmd.record().member().node_name() : cmd.remove();
  if (name.empty()) return failed("Must provide a member name");
  if (cmd.remove().empty()) {
    t.catalog.putMember(cmd.record());
  } else {
    t.catalog.removeMember(name);
  }
  if (cmd.deregister_node()) {
    if (t.catalog.node(name)) removeNode(t, index, name, effects);
  } else if (cmd.has_node_register()) {
    return applyCatalogRegister(t, index, cmd.node_register(), effects);
  }
  return TxnOutcome{};
}

}  // namespace cairn::store
