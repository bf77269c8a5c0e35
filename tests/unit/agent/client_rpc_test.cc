// What a server accepts from a client agent's anti-entropy (untrusted input).
#include <gtest/gtest.h>

#include "agent/client_rpc_service.h"

namespace cairn::agent {
namespace {

v1::Command registerOf(const std::string& node, const std::string& check_node = "") {
  v1::Command c;
  auto* r = c.mutable_catalog_register();
  r->mutable_node()->set_node(node);
  if (!check_node.empty()) r->add_checks()->set_node(check_node);
  return c;
}

TEST(RefuseClientCommand, AcceptsRegisterAndDeregisterOfItsOwnNode) {
  EXPECT_EQ(refuseClientCommand("c1", registerOf("c1", "c1"), {"s1"}), "");
  EXPECT_EQ(refuseClientCommand("c1", registerOf("C1"), {"s1"}), "");  // names are case-blind
  v1::Command d;
  d.mutable_catalog_deregister()->set_node("c1");
  d.mutable_catalog_deregister()->set_service_id("web");
  EXPECT_EQ(refuseClientCommand("c1", d, {"s1"}), "");
}

TEST(RefuseClientCommand, RefusesOtherNodesServersAndOtherCommands) {
  EXPECT_NE(refuseClientCommand("", registerOf(""), {}), "");
  EXPECT_NE(refuseClientCommand("c1", registerOf("c2"), {}), "");
  EXPECT_NE(refuseClientCommand("c1", registerOf("c1", "c2"), {}), "");
  EXPECT_NE(refuseClientCommand("s1", registerOf("s1"), {"s1"}), "");
  v1::Command d;
  d.mutable_catalog_deregister()->set_node("c2");
  EXPECT_NE(refuseClientCommand("c1", d, {}), "");
  v1::Command kv;
  kv.mutable_txn();
  EXPECT_NE(refuseClientCommand("c1", kv, {}), "");
}

}  // namespace
}  // namespace cairn::agent
