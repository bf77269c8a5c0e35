#include "core/local/catalog_compare.h"

#include <google/protobuf/util/message_differencer.h>

#include "core/local/registration.h"

namespace cairn::local {
namespace {

using google::protobuf::util::MessageDifferencer;

v1::CatalogService normalizedService(v1::CatalogService s) {
  if (s.id().empty()) s.set_id(s.service());
  if (s.weight_passing() == 0) s.set_weight_passing(1);
  if (s.weight_warning() == 0) s.set_weight_warning(1);
  s.clear_create_index();
  s.clear_modify_index();
  return s;
}

v1::CatalogCheck normalizedCheck(v1::CatalogCheck c) {
  if (c.status().empty()) c.set_status("critical");
  c.clear_node();
  c.clear_service_name();
  c.clear_service_tags();
  c.clear_create_index();
  c.clear_modify_index();
  if (c.has_definition() && c.definition().ByteSizeLong() == 0) c.clear_definition();
  return c;
}

v1::Command registerWith(const AgentIdentity& identity, bool update_node) {
  v1::Command cmd;
  v1::CatalogRegister& r = *cmd.mutable_catalog_register();
  *r.mutable_node() = catalogNodeOf(identity);
  r.set_skip_node_update(!update_node);
  return cmd;
}

}  // namespace

std::map<std::string, std::string> defaultTaggedAddresses(const std::string& address) {
  return {{"lan", address}, {"lan_ipv4", address}, {"wan", address}, {"wan_ipv4", address}};
}

v1::CatalogNode catalogNodeOf(const AgentIdentity& identity) {
  v1::CatalogNode n;
  n.set_id(identity.node_id);
  n.set_node(identity.node_name);
  n.set_address(identity.address);
  n.set_datacenter(identity.datacenter);
  for (const auto& [k, v] : identity.tagged_addresses) (*n.mutable_tagged_addresses())[k] = v;
  for (const auto& [k, v] : identity.meta) (*n.mutable_meta())[k] = v;
  return n;
}

v1::CatalogCheck serfHealthCheck(const std::string& node) {
  v1::CatalogCheck c;
  c.set_node(node);
  c.set_check_id(kSerfHealthCheckId);
  c.set_name("Serf Health Status");
  c.set_status("passing");
  c.set_output("Agent alive and reachable");
  return c;
}

bool sameNode(const v1::CatalogNode& want, const v1::CatalogNode& catalog) {
  v1::CatalogNode have = catalog;
  have.clear_create_index();
  have.clear_modify_index();
  return MessageDifferencer::Equals(want, have);
}

bool sameService(const v1::CatalogService& want, const v1::CatalogService& have) {
  v1::CatalogService a = normalizedService(want), b = normalizedService(have);
  if (a.enable_tag_override()) b.mutable_tags()->CopyFrom(a.tags());
  return MessageDifferencer::Equals(a, b);
}

bool sameCheck(const v1::CatalogCheck& want, const v1::CatalogCheck& have, bool ignore_output) {
  v1::CatalogCheck a = normalizedCheck(want), b = normalizedCheck(have);
  if (ignore_output) b.set_output(a.output());
  return MessageDifferencer::Equals(a, b);
}

v1::Command registerNodeCommand(const AgentIdentity& identity) {
  v1::Command cmd = registerWith(identity, true);
  *cmd.mutable_catalog_register()->add_checks() = serfHealthCheck(identity.node_name);
  return cmd;
}

v1::Command registerServiceCommand(const AgentIdentity& identity, const v1::CatalogService& service,
                                   const std::vector<v1::CatalogCheck>& checks) {
  v1::Command cmd = registerWith(identity, false);
  v1::CatalogRegister& r = *cmd.mutable_catalog_register();
  r.set_skip_node_update(true);
  *r.mutable_service() = service;
  for (const auto& c : checks) *r.add_checks() = c;
  return cmd;
}

v1::Command registerCheckCommand(const AgentIdentity& identity, const v1::CatalogCheck& check) {
  v1::Command cmd = registerWith(identity, false);
  *cmd.mutable_catalog_register()->add_checks() = check;
  return cmd;
}

v1::Command deregisterServiceCommand(const std::string& node, const std::string& service_id) {
  v1::Command cmd;
  cmd.mutable_catalog_deregister()->set_node(node);
  cmd.mutable_catalog_deregister()->set_service_id(service_id);
  return cmd;
}

v1::Command deregisterCheckCommand(const std::string& node, const std::string& check_id) {
  v1::Command cmd;
  cmd.mutable_catalog_deregister()->set_node(node);
  cmd.mutable_catalog_deregister()->set_check_id(check_id);
  return cmd;
}

}  // namespace cairn::local
