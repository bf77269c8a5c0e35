// The catalog, health, session and event tables: apply semantics and reads.
#include <gtest/gtest.h>

#include "core/store/catalog_table.h"
#include "store_fixture.h"

namespace cairn::store::testing {
namespace {

class CatalogTest : public StoreFixture {
 protected:
  TxnOutcome apply(v1::Command cmd) {
    LogEntry entry{store_->appliedIndex() + 1, &cmd};
    return store_->apply(std::span(&entry, 1), false).at(0);
  }
  static v1::CatalogCheck check(std::string id, std::string status, std::string service = "") {
    v1::CatalogCheck c;
    c.set_check_id(std::move(id));
    c.set_name("check");
    c.set_status(std::move(status));
    c.set_service_id(std::move(service));
    return c;
  }
  TxnOutcome registerNode(std::string node, std::string address,
                          std::vector<v1::CatalogCheck> checks = {},
                          std::optional<v1::CatalogService> service = std::nullopt) {
    v1::Command cmd;
    auto* r = cmd.mutable_catalog_register();
    r->mutable_node()->set_node(std::move(node));
    r->mutable_node()->set_address(std::move(address));
    if (service) *r->mutable_service() = *service;
    for (auto& c : checks) *r->add_checks() = c;
    return apply(cmd);
  }
  static v1::CatalogService service(std::string name, std::string id, std::vector<std::string> tags,
                                    int port) {
    v1::CatalogService s;
    s.set_service(std::move(name));
    s.set_id(std::move(id));
    for (auto& t : tags) s.add_tags(t);
    s.set_port(port);
    return s;
  }
  TxnOutcome deregister(std::string node, std::string service_id = "", std::string check_id = "") {
    v1::Command cmd;
    auto* d = cmd.mutable_catalog_deregister();
    d->set_node(std::move(node));
    d->set_service_id(std::move(service_id));
    d->set_check_id(std::move(check_id));
    return apply(cmd);
  }
  TxnOutcome createSession(std::string id, std::string node, std::vector<std::string> checks,
                           std::string behavior = "release", int64_t lock_delay_ns = 0) {
    v1::Command cmd;
    auto* s = cmd.mutable_session_create()->mutable_session();
    s->set_id(std::move(id));
    s->set_node(std::move(node));
    s->set_behavior(std::move(behavior));
    s->set_lock_delay_ns(lock_delay_ns);
    for (auto& c : checks) s->add_node_checks(c);
    return apply(cmd);
  }
  TxnOutcome destroySession(std::string id) {
    v1::Command cmd;
    cmd.mutable_session_destroy()->set_id(std::move(id));
    return apply(cmd);
  }
  TxnOutcome lock(std::string key, std::string session, bool acquire = true) {
    v1::KvOp o = op(acquire ? v1::KV_LOCK : v1::KV_UNLOCK, std::move(key), "v");
    o.set_session(std::move(session));
    return run({o});
  }
};

TEST_F(CatalogTest, RegisterCreatesNodeServiceAndChecks) {
  ASSERT_TRUE(registerNode("n1", "10.0.0.1",
                           {check("serfHealth", "passing"), check("web-check", "warning", "web1")},
                           service("web", "web1", {"b", "a"}, 80))
                  .ok);
  auto nodes = store_->catalogNodes();
  ASSERT_EQ(nodes.nodes.size(), 1u);
  EXPECT_EQ(nodes.nodes[0].address(), "10.0.0.1");
  auto services = store_->catalogServices();
  EXPECT_EQ(services.services.at("web"), (std::vector<std::string>{"a", "b"}));
  auto instances = store_->serviceInstances("WEB", true);  // case-insensitive
  ASSERT_EQ(instances.instances.size(), 1u);
  const auto& checks = instances.instances[0].checks;
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].check_id(), "serfHealth");  // node checks first
  EXPECT_EQ(checks[1].service_name(), "web");
  EXPECT_EQ(instances.index, 1u);  // the log index of the registration
}

TEST_F(CatalogTest, IdenticalReRegistrationChangesNoIndex) {
  ASSERT_TRUE(registerNode("n1", "a", {check("c", "passing")}, service("web", "", {}, 1)).ok);
  uint64_t before = store_->serviceInstances("web", true).index;
  ASSERT_TRUE(registerNode("n1", "a", {check("c", "passing")}, service("web", "", {}, 1)).ok);
  EXPECT_EQ(store_->serviceInstances("web", true).index, before);
  ASSERT_TRUE(registerNode("n1", "a", {check("c", "critical")}).ok);
  EXPECT_GT(store_->serviceInstances("web", true).index, before);  // node check changed health
}

TEST_F(CatalogTest, RegisterRejectsMissingFieldsAndUnknownServiceChecks) {
  EXPECT_FALSE(registerNode("", "a").ok);
  EXPECT_FALSE(registerNode("n1", "").ok);
  TxnOutcome r = registerNode("n1", "a", {check("c", "passing", "nope")});
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.errors[0].what, "Missing service registration");
  EXPECT_TRUE(store_->catalogNodes().nodes.empty());  // rolled back whole
}

TEST_F(CatalogTest, DeregisterServiceRemovesItsChecksAndNodeRemovesEverything) {
  ASSERT_TRUE(registerNode("n1", "a",
                           {check("c1", "passing", "s1"), check("serfHealth", "passing")},
                           service("db", "s1", {}, 5432))
                  .ok);
  ASSERT_TRUE(deregister("n1", "s1").ok);
  EXPECT_TRUE(store_->serviceInstances("db", false).instances.empty());
  EXPECT_EQ(store_->nodeChecks("n1").checks.size(), 1u);
  ASSERT_TRUE(deregister("n1").ok);
  EXPECT_TRUE(store_->catalogNodes().nodes.empty());
  EXPECT_TRUE(store_->checksInState("any").checks.empty());
  EXPECT_TRUE(deregister("unknown").ok);
}

TEST_F(CatalogTest, SessionNeedsRegisteredNodeAndHealthyChecks) {
  EXPECT_EQ(createSession("s1", "n1", {}).errors.at(0).what, "Missing node registration");
  ASSERT_TRUE(
      registerNode("n1", "a", {check("serfHealth", "passing"), check("bad", "critical")}).ok);
  EXPECT_EQ(createSession("s1", "n1", {"nope"}).errors.at(0).what,
            "Missing check 'nope' registration");
  EXPECT_EQ(createSession("s1", "n1", {"bad"}).errors.at(0).what,
            "Check 'bad' is in critical state");
  ASSERT_TRUE(createSession("s1", "n1", {"serfHealth"}).ok);
  EXPECT_EQ(store_->session("s1").sessions.size(), 1u);
  EXPECT_EQ(store_->nodeSessions("N1").sessions.size(), 1u);
}

TEST_F(CatalogTest, LocksFollowSessionsAndInvalidationReleasesThem) {
  ASSERT_TRUE(registerNode("n1", "a", {check("serfHealth", "passing")}).ok);
  ASSERT_TRUE(createSession("s1", "n1", {"serfHealth"}, "release", 15'000'000'000).ok);
  ASSERT_TRUE(createSession("s2", "n1", {}).ok);
  TxnOutcome bad = lock("k", "nope");
  ASSERT_FALSE(bad.ok);
  EXPECT_EQ(bad.errors[0].unknown_session, "nope");
  ASSERT_TRUE(lock("k", "s1").ok);
  EXPECT_FALSE(lock("k", "s2").ok);  // held by another session
  EXPECT_EQ(store_->get("k").entry.lock_index, 1u);
  // The check turning critical invalidates s1: the key is released, and lock-delayed.
  ASSERT_TRUE(registerNode("n1", "a", {check("serfHealth", "critical")}).ok);
  EXPECT_TRUE(store_->session("s1").sessions.empty());
  EXPECT_EQ(store_->get("k").entry.session, "");
  EXPECT_EQ(store_->get("k").entry.value, "v");
  EXPECT_TRUE(store_->lockDelayed("k"));
  ASSERT_TRUE(lock("k", "s2").ok);  // the store itself does not enforce the delay
  EXPECT_EQ(store_->get("k").entry.lock_index, 2u);
}

TEST_F(CatalogTest, DeleteBehaviorDeletesHeldKeys) {
  ASSERT_TRUE(registerNode("n1", "a").ok);
  ASSERT_TRUE(createSession("s1", "n1", {}, "delete").ok);
  ASSERT_TRUE(lock("a/b", "s1").ok);
  ASSERT_TRUE(lock("a/c", "s1").ok);
  ASSERT_TRUE(lock("a/c", "s1", false).ok);  // released before: kept
  ASSERT_TRUE(destroySession("s1").ok);
  EXPECT_FALSE(store_->get("a/b").found);
  EXPECT_TRUE(store_->get("a/c").found);
  EXPECT_TRUE(destroySession("s1").ok);  // unknown: still fine
}

TEST_F(CatalogTest, EventsKeepTheNewest256InOrder) {
  for (int i = 0; i < 300; ++i) {
    v1::Command cmd;
    cmd.mutable_event_fire()->mutable_event()->set_name("e" + std::to_string(i));
    ASSERT_TRUE(apply(cmd).ok);
  }
  EventList events = store_->events();
  ASSERT_EQ(events.events.size(), kEventsKept);
  EXPECT_EQ(events.events.front().name(), "e44");
  EXPECT_EQ(events.events.back().ltime(), 300u);
}

TEST_F(CatalogTest, ImageRoundTripsTheCatalog) {
  ASSERT_TRUE(
      registerNode("n1", "a", {check("serfHealth", "passing")}, service("web", "", {}, 1)).ok);
  ASSERT_TRUE(createSession("s1", "n1", {"serfHealth"}).ok);
  ASSERT_TRUE(lock("k", "s1").ok);
  std::string image = store_->image();
  ASSERT_TRUE(deregister("n1").ok);
  ASSERT_TRUE(store_->restore(image).isOk());
  EXPECT_EQ(store_->serviceInstances("web", true).instances.size(), 1u);
  EXPECT_EQ(store_->session("s1").sessions.size(), 1u);
  ASSERT_TRUE(destroySession("s1").ok);  // the held-key rows came back too
  EXPECT_EQ(store_->get("k").entry.session, "");
}

}  // namespace
}  // namespace cairn::store::testing
