#include "agent/client_rpc_acl.h"

#include <google/protobuf/util/message_differencer.h>

namespace cairn::agent {
namespace {

using acl::Access;
using acl::Resource;
using http::Permission;

Permission write(Resource resource, std::string name) {
  return Permission{resource, std::move(name), Access::kWrite, false};
}

// The node as a registration states it compared with the stored one, indexes aside.
bool changesNode(const v1::CatalogNode& wanted, const std::optional<v1::CatalogNode>& stored) {
  if (!stored) return true;
  v1::CatalogNode have = *stored;
  have.clear_create_index();
  have.clear_modify_index();
  v1::CatalogNode want = wanted;
  want.clear_create_index();
  want.clear_modify_index();
  return !google::protobuf::util::MessageDifferencer::Equals(want, have);
}

std::vector<Permission> registerNeeds(const v1::CatalogRegister& r, const NodeEntries& existing) {
  const std::string& node = r.node().node();
  std::vector<Permission> needs;
  if (!r.skip_node_update() && changesNode(r.node(), existing.node)) {
    needs.push_back(write(Resource::kNode, node));
  }
  std::string service_id;
  if (r.has_service()) {
    const v1::CatalogService& s = r.service();
    service_id = s.id().empty() ? s.service() : s.id();
    needs.push_back(write(Resource::kService, s.service()));
    // Taking over an ID registered under another name needs write on that name too.
    auto old = existing.service_names.find(service_id);
    if (old != existing.service_names.end() && old->second != s.service()) {
      needs.push_back(write(Resource::kService, old->second));
    }
  }
  for (const v1::CatalogCheck& c : r.checks()) {
    if (c.service_id().empty()) {
      needs.push_back(write(Resource::kNode, node));
    } else if (r.has_service() && c.service_id() == service_id) {
      needs.push_back(write(Resource::kService, r.service().service()));
    } else if (auto s = existing.service_names.find(c.service_id());
               s != existing.service_names.end()) {
      needs.push_back(write(Resource::kService, s->second));
    } else {
      needs.push_back(write(Resource::kNode, node));  // the store refuses it anyway
    }
  }
  return needs;
}

std::optional<Permission> firstMissing(const std::vector<Permission>& needs,
                                       const acl::Authorizer& authz) {
  for (const Permission& p : needs) {
    if (!authz.allowed(p.resource, p.name, p.access)) return p;
  }
  return std::nullopt;
}

// The verdict on deregistering entry `id` of `names` (ID -> service name, "" for a node-level
// check) by a token without node:write.
CommandVerdict entryVerdict(const std::map<std::string, std::string>& names, const std::string& id,
                            const Permission& node_write, const acl::Authorizer& authz) {
  CommandVerdict verdict;
  auto it = names.find(id);
  if (it == names.end()) {
    verdict.nothing_to_do = true;
  } else if (it->second.empty()) {
    verdict.missing = node_write;
  } else {
    verdict.missing = firstMissing({write(Resource::kService, it->second)}, authz);
  }
  return verdict;
}

CommandVerdict deregisterVerdict(const v1::CatalogDeregister& d, const NodeEntries& existing,
                                 const acl::Authorizer& authz) {
  Permission node_write = write(Resource::kNode, d.node());
  if (authz.allowed(Resource::kNode, d.node(), Access::kWrite)) return {};
  // The store's precedence: a service ID wins over a check ID.
  if (!d.service_id().empty()) {
    return entryVerdict(existing.service_names, d.service_id(), node_write, authz);
  }
  if (!d.check_id().empty()) {
    return entryVerdict(existing.check_services, d.check_id(), node_write, authz);
  }
  CommandVerdict verdict;
  verdict.missing = node_write;  // the whole node
  return verdict;
}

}  // namespace

CommandVerdict authorizeClientCommand(const v1::Command& command, const NodeEntries& existing,
                                      const acl::Authorizer& authz) {
  if (command.has_catalog_deregister()) {
    return deregisterVerdict(command.catalog_deregister(), existing, authz);
  }
  CommandVerdict verdict;
  if (command.has_catalog_register()) {
    verdict.missing = firstMissing(registerNeeds(command.catalog_register(), existing), authz);
  } else {
    verdict.missing = Permission{Resource::kOperator, "", Access::kWrite, false};  // not reached
  }
  return verdict;
}

}  // namespace cairn::agent
