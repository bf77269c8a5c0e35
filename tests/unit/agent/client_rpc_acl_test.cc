// ACLs on a client agent's anti-entropy (agent/client_rpc_acl.h): what each catalog command
// needs, with Consul's Catalog.Register / Deregister rules.
#include "agent/client_rpc_acl.h"

#include <gtest/gtest.h>

namespace cairn::agent {
namespace {

std::shared_ptr<const acl::Authorizer> authz(const std::string& hcl) {
  auto rules = acl::parseRules(hcl);
  EXPECT_TRUE(rules.isOk()) << rules.status().message();
  return acl::Authorizer::fromRules({&*rules}, acl::DefaultPolicy::kDeny);  // copies the rules
}

const char kWebWriter[] = R"(service "web" { policy = "write" })";

v1::CatalogNode nodeC1() {
  v1::CatalogNode n;
  n.set_node("c1");
  n.set_address("127.0.0.5");
  return n;
}

v1::Command registerService(const std::string& id, const std::string& name) {
  v1::Command c;
  auto* r = c.mutable_catalog_register();
  *r->mutable_node() = nodeC1();
  r->set_skip_node_update(true);
  r->mutable_service()->set_id(id);
  r->mutable_service()->set_service(name);
  auto* check = r->add_checks();
  check->set_check_id("service:" + id);
  check->set_service_id(id);
  return c;
}

v1::Command deregister(const std::string& service_id, const std::string& check_id) {
  v1::Command c;
  c.mutable_catalog_deregister()->set_node("c1");
  c.mutable_catalog_deregister()->set_service_id(service_id);
  c.mutable_catalog_deregister()->set_check_id(check_id);
  return c;
}

NodeEntries knownNode() {
  NodeEntries e;
  e.node = nodeC1();
  e.service_names = {{"web-1", "web"}, {"db-1", "db"}};
  e.check_services = {{"serfHealth", ""}, {"service:web-1", "web"}, {"service:db-1", "db"}};
  return e;
}

std::string missing(const CommandVerdict& v) {
  if (!v.missing) return "";
  return std::string(acl::resourceName(v.missing->resource)) + ":" +
         acl::accessName(v.missing->access) + " " + v.missing->name;
}

TEST(ClientRpcAcl, AServiceTokenRegistersItsOwnServiceAndNoOther) {
  auto web = authz(kWebWriter);
  EXPECT_EQ(missing(authorizeClientCommand(registerService("web-1", "web"), knownNode(), *web)),
            "");
  EXPECT_EQ(missing(authorizeClientCommand(registerService("db-2", "db"), knownNode(), *web)),
            "service:write db");
  // Renaming the ID of another service needs write on its old name too.
  EXPECT_EQ(missing(authorizeClientCommand(registerService("db-1", "web"), knownNode(), *web)),
            "service:write db");
}

TEST(ClientRpcAcl, RegisteringOrChangingTheNodeNeedsNodeWrite) {
  auto web = authz(kWebWriter);
  v1::Command node;
  *node.mutable_catalog_register()->mutable_node() = nodeC1();
  EXPECT_EQ(missing(authorizeClientCommand(node, NodeEntries{}, *web)), "node:write c1");
  // Re-posting the node as it is needs nothing (Consul's vetRegisterWithACL).
  EXPECT_EQ(missing(authorizeClientCommand(node, knownNode(), *web)), "");
  node.mutable_catalog_register()->mutable_node()->set_address("127.0.0.6");
  EXPECT_EQ(missing(authorizeClientCommand(node, knownNode(), *web)), "node:write c1");
  // A node-level check always needs it.
  node = registerService("web-1", "web");
  node.mutable_catalog_register()->add_checks()->set_check_id("serfHealth");
  EXPECT_EQ(missing(authorizeClientCommand(node, knownNode(), *web)), "node:write c1");
  auto nodes = authz(std::string(kWebWriter) + "\nnode_prefix \"c\" { policy = \"write\" }");
  EXPECT_EQ(missing(authorizeClientCommand(node, NodeEntries{}, *nodes)), "");
}

TEST(ClientRpcAcl, ACheckOfAnExistingServiceNeedsWriteOnThatService) {
  v1::Command c;
  auto* r = c.mutable_catalog_register();
  *r->mutable_node() = nodeC1();
  r->set_skip_node_update(true);
  r->add_checks()->set_service_id("db-1");
  EXPECT_EQ(missing(authorizeClientCommand(c, knownNode(), *authz(kWebWriter))),
            "service:write db");
  r->mutable_checks(0)->set_service_id("web-1");
  EXPECT_EQ(missing(authorizeClientCommand(c, knownNode(), *authz(kWebWriter))), "");
}

TEST(ClientRpcAcl, DeregisterNeedsWriteOnWhatGoes) {
  auto web = authz(kWebWriter);
  EXPECT_EQ(missing(authorizeClientCommand(deregister("web-1", ""), knownNode(), *web)), "");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("db-1", ""), knownNode(), *web)),
            "service:write db");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("", "service:web-1"), knownNode(), *web)),
            "");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("", "service:db-1"), knownNode(), *web)),
            "service:write db");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("", "serfHealth"), knownNode(), *web)),
            "node:write c1");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("", ""), knownNode(), *web)),
            "node:write c1");
  // node:write on the node allows every deregistration on it.
  auto node = authz(R"(node "c1" { policy = "write" })");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("db-1", ""), knownNode(), *node)), "");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("", ""), knownNode(), *node)), "");
}

TEST(ClientRpcAcl, DeregisteringWhatIsNotThereIsNothingToDo) {
  auto web = authz(kWebWriter);
  CommandVerdict v = authorizeClientCommand(deregister("gone", ""), knownNode(), *web);
  EXPECT_FALSE(v.missing);
  EXPECT_TRUE(v.nothing_to_do);
  v = authorizeClientCommand(deregister("", "gone"), knownNode(), *web);
  EXPECT_FALSE(v.missing);
  EXPECT_TRUE(v.nothing_to_do);
}

TEST(ClientRpcAcl, ManagementMayDoAnything) {
  auto all = acl::Authorizer::management();
  EXPECT_EQ(missing(authorizeClientCommand(registerService("db-2", "db"), NodeEntries{}, *all)),
            "");
  EXPECT_EQ(missing(authorizeClientCommand(deregister("", ""), knownNode(), *all)), "");
}

}  // namespace
}  // namespace cairn::agent
