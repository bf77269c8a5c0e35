// LocalAgent: registry, persistence and anti-entropy decisions against a fake Node that applies
// every proposal to a real StateStore (or fails it, like a cluster without a leader).
#include "core/local/local_agent.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "agent/node_catalog_port.h"

namespace cairn::local {
namespace {

using namespace std::chrono_literals;

class FakeNode final : public node::Node {
 public:
  explicit FakeNode(store::StateStore& store) : store_(store) {}
  void propose(v1::Command cmd, node::ProposeCallback done) override {
    commands.push_back(cmd);
    if (cmd.has_catalog_register() && !denied_service.empty() &&
        cmd.catalog_register().service().service() == denied_service) {
      return done(invalidArgument("Permission denied: lacks service:write"));
    }
    if (failures > 0) {
      --failures;
      return done(unavailable("No cluster leader"));
    }
    store::LogEntry e{store_.appliedIndex() + 1, &cmd};
    node::ProposeResult r{e.index, store_.apply(std::span(&e, 1), false).at(0)};
    done(r);
  }
  void readBarrier(node::ReadMode, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  node::LeaderStatus leaderStatus() const override { return {}; }
  // Not `override`: Node::isLeader() is being added in the tree right now.
  bool isLeader() const { return true; }
  node::RaftConfiguration raftConfiguration() const override { return {}; }
  void removePeer(const std::string&, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  void transferLeadership(const std::string&, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  StatusOr<node::AutopilotHealth> autopilotHealth() const override {
    return unavailable("not leader");
  }
  std::vector<v1::Command> commands;
  int failures = 0;
  std::string denied_service;  // its registration fails as the server's ACLs refuse it

 private:
  store::StateStore& store_;
};

class NoProbers final : public health::ProberFactory {
 public:
  StatusOr<std::shared_ptr<health::Prober>> create(const health::CheckDefinition&) override {
    return unavailable("no probers in this test");
  }
};

class LocalAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cairn-local-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    auto db = storage::RocksDb::open(dir_.string());
    ASSERT_TRUE(db.isOk());
    db_ = std::move(*db);
    store_ = std::make_unique<store::StateStore>(*db_, hub_);
    node_ = std::make_unique<FakeNode>(*store_);
    port_ = std::make_unique<agent::NodeCatalogPort>(*node_, *store_);
    open();
  }
  void TearDown() override {
    agent_.reset();
    port_.reset();
    node_.reset();
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void open() {
    agent_.reset();
    AgentIdentity id{"n1",        "11111111-2222-3333-4444-555555555555", "dc1",
                     "127.0.0.1", defaultTaggedAddresses("127.0.0.1"),    {{"k", "v"}}};
    LocalOptions o;
    o.check_update_interval = 5min;
    o.reaper_interval = 30s;
    auto a = LocalAgent::open(id, o, {port_.get(), db_.get(), &sched_, &probers_, 7});
    ASSERT_TRUE(a.isOk()) << a.status().message();
    agent_ = std::move(*a);
  }
  void pump() { sched_.runDue(); }
  static CheckRegistration ttlCheck(std::string id, std::string service, Nanos ttl = 30s) {
    CheckRegistration c;
    c.check.set_check_id(std::move(id));
    c.check.set_name("ttl");
    c.check.set_service_id(std::move(service));
    c.definition.ttl = ttl;
    return c;
  }
  static ServiceRegistration web(std::vector<CheckRegistration> checks = {}) {
    ServiceRegistration r;
    r.service.set_id("web1");
    r.service.set_service("web");
    r.service.add_tags("v1");
    r.service.set_port(80);
    r.checks = std::move(checks);
    return r;
  }
  std::optional<v1::CatalogCheck> catalogCheck(const std::string& id) {
    for (const auto& c : store_->nodeChecks("n1").checks) {
      if (c.check_id() == id) return c;
    }
    return std::nullopt;
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  store::WatchHub hub_;
  std::unique_ptr<storage::RocksDb> db_;
  std::unique_ptr<store::StateStore> store_;
  std::unique_ptr<FakeNode> node_;
  std::unique_ptr<agent::NodeCatalogPort> port_;
  health::ManualScheduler sched_;
  NoProbers probers_;
  std::unique_ptr<LocalAgent> agent_;
};

TEST_F(LocalAgentTest, RegistersNodeAndSerfHealthRetryingWithoutLeader) {
  node_->failures = 3;
  agent_->start();
  pump();
  EXPECT_FALSE(agent_->syncStats().node_registered);
  sched_.advance(10s);
  EXPECT_TRUE(agent_->syncStats().node_registered);
  EXPECT_EQ(agent_->syncStats().failures, 3u);
  auto node = store_->nodeServices("n1").node;
  ASSERT_TRUE(node);
  EXPECT_EQ(node->address(), "127.0.0.1");
  EXPECT_EQ(node->tagged_addresses().at("wan_ipv4"), "127.0.0.1");
  EXPECT_EQ(node->meta().at("k"), "v");
  auto serf = catalogCheck("serfHealth");
  ASSERT_TRUE(serf);
  EXPECT_EQ(serf->status(), "passing");
  EXPECT_EQ(serf->output(), "Agent alive and reachable");
}

TEST_F(LocalAgentTest, PushesChangesAndDoesNotReproposeIdenticalData) {
  agent_->start();
  pump();
  ASSERT_TRUE(agent_->addService(web({ttlCheck("service:web1", "")}), false).isOk());
  pump();
  auto services = store_->nodeServices("n1").services;
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].id(), "web1");
  auto check = catalogCheck("service:web1");
  ASSERT_TRUE(check);
  EXPECT_EQ(check->status(), "critical");
  EXPECT_EQ(check->type(), "ttl");
  size_t before = node_->commands.size();
  agent_->syncNow();
  pump();
  sched_.advance(2min);  // periodic reconciliations
  EXPECT_EQ(node_->commands.size(), before);
  EXPECT_GE(agent_->syncStats().full_syncs, 2u);
}

// As Consul: a service the token may not write is skipped until the next full sync, and does not
// hold back the services after it.
TEST_F(LocalAgentTest, AServiceBlockedByAclsDoesNotBlockTheOthers) {
  node_->denied_service = "api";
  agent_->start();
  pump();
  ServiceRegistration api = web();
  api.service.set_id("api1");
  api.service.set_service("api");
  ASSERT_TRUE(agent_->addService(api, false).isOk());
  ASSERT_TRUE(agent_->addService(web(), false).isOk());
  pump();
  auto services = store_->nodeServices("n1").services;
  ASSERT_EQ(services.size(), 1u);
  EXPECT_EQ(services[0].id(), "web1");
  EXPECT_GE(agent_->syncStats().failures, 1u);
  // Not retried in a loop: only the periodic full sync tries it again.
  size_t before = node_->commands.size();
  pump();
  sched_.advance(1s);
  EXPECT_EQ(node_->commands.size(), before);
}

TEST_F(LocalAgentTest, ReconciliationRevertsCatalogEditsAndRemovesUnknownEntries) {
  agent_->start();
  ASSERT_TRUE(agent_->addService(web(), false).isOk());
  pump();
  v1::Command cmd;
  auto* r = cmd.mutable_catalog_register();
  r->mutable_node()->set_node("n1");
  r->mutable_node()->set_address("10.9.9.9");
  r->mutable_service()->set_service("stray");
  auto* c = r->add_checks();
  c->set_check_id("stray-check");
  c->set_status("passing");
  node_->propose(cmd, [](StatusOr<node::ProposeResult>) {});
  agent_->syncNow();
  pump();
  auto ns = store_->nodeServices("n1");
  EXPECT_EQ(ns.node->address(), "127.0.0.1");
  ASSERT_EQ(ns.services.size(), 1u);
  EXPECT_EQ(ns.services[0].id(), "web1");
  EXPECT_FALSE(catalogCheck("stray-check"));
  EXPECT_TRUE(catalogCheck("serfHealth"));
}

TEST_F(LocalAgentTest, StatusChangesSyncAtOnceOutputOnlyChangesAreDeferred) {
  agent_->start();
  ASSERT_TRUE(agent_->addService(web({ttlCheck("t", "", 1h)}), false).isOk());
  pump();
  ASSERT_TRUE(agent_->updateTtl("t", health::CheckStatus::kPassing, "one").isOk());
  pump();
  EXPECT_EQ(catalogCheck("t")->status(), "passing");
  EXPECT_EQ(catalogCheck("t")->output(), "one");
  ASSERT_TRUE(agent_->updateTtl("t", health::CheckStatus::kPassing, "two").isOk());
  pump();
  EXPECT_EQ(catalogCheck("t")->output(), "one");      // deferred
  EXPECT_EQ(agent_->checks().at(0).output(), "two");  // the agent shows it at once
  agent_->syncNow();
  pump();
  EXPECT_EQ(catalogCheck("t")->output(), "one");  // reconciliation honours the deferral
  sched_.advance(5min);
  EXPECT_EQ(catalogCheck("t")->output(), "two");
  ASSERT_TRUE(agent_->updateTtl("t", health::CheckStatus::kWarning, "three").isOk());
  pump();
  EXPECT_EQ(catalogCheck("t")->status(), "warning");
}

TEST_F(LocalAgentTest, TtlExpiryAndNonTtlUpdates) {
  agent_->start();
  ASSERT_TRUE(agent_->addService(web({ttlCheck("t", "", 10s)}), false).isOk());
  ASSERT_TRUE(agent_->updateTtl("t", health::CheckStatus::kPassing, "ok").isOk());
  sched_.advance(11s);
  EXPECT_EQ(catalogCheck("t")->status(), "critical");
  EXPECT_NE(catalogCheck("t")->output().find("TTL expired"), std::string::npos);
  Status s = agent_->updateTtl("nope", health::CheckStatus::kPassing, "");
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "CheckID \"nope\" does not have associated TTL");
  ASSERT_TRUE(agent_->setNodeMaintenance(true, "").isOk());
  EXPECT_EQ(agent_->updateTtl("_node_maintenance", health::CheckStatus::kPassing, "").code(),
            StatusCode::kInternal);
}

TEST_F(LocalAgentTest, MaintenanceChecks) {
  agent_->start();
  ASSERT_TRUE(agent_->addService(web(), false).isOk());
  ASSERT_TRUE(agent_->setNodeMaintenance(true, "upgrading").isOk());
  ASSERT_TRUE(agent_->setServiceMaintenance("web1", true, "").isOk());
  pump();
  auto node_maint = catalogCheck("_node_maintenance");
  ASSERT_TRUE(node_maint);
  EXPECT_EQ(node_maint->status(), "critical");
  EXPECT_EQ(node_maint->notes(), "upgrading");
  EXPECT_EQ(node_maint->name(), "Node Maintenance Mode");
  auto svc_maint = catalogCheck("_service_maintenance:web1");
  ASSERT_TRUE(svc_maint);
  EXPECT_EQ(svc_maint->service_id(), "web1");
  EXPECT_NE(svc_maint->notes().find("no reason was provided"), std::string::npos);
  EXPECT_EQ(agent_->setServiceMaintenance("nope", true, "").code(), StatusCode::kNotFound);
  ASSERT_TRUE(agent_->setNodeMaintenance(false, "").isOk());
  ASSERT_TRUE(agent_->setServiceMaintenance("web1", false, "").isOk());
  pump();
  EXPECT_FALSE(catalogCheck("_node_maintenance"));
  EXPECT_FALSE(catalogCheck("_service_maintenance:web1"));
}

TEST_F(LocalAgentTest, ReaperRemovesServicesCriticalPastDeregisterAfter) {
  agent_->start();
  auto check = ttlCheck("t", "");
  check.definition.deregister_critical_service_after = 1s;  // raised to the 1m minimum
  ASSERT_TRUE(agent_->addService(web({check}), false).isOk());
  pump();
  sched_.advance(30s);
  EXPECT_TRUE(agent_->service("web1"));
  sched_.advance(61s);
  EXPECT_FALSE(agent_->service("web1"));
  pump();
  EXPECT_TRUE(store_->nodeServices("n1").services.empty());
  EXPECT_FALSE(catalogCheck("t"));
}

TEST_F(LocalAgentTest, RegistryAndTtlStatusSurviveRestart) {
  ASSERT_TRUE(agent_->addService(web({ttlCheck("t", "")}), false).isOk());
  ASSERT_TRUE(agent_->updateTtl("t", health::CheckStatus::kWarning, "half").isOk());
  ASSERT_TRUE(agent_->setNodeMaintenance(true, "why").isOk());
  open();
  ASSERT_TRUE(agent_->service("web1"));
  auto checks = agent_->checks();
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[1].check_id(), "t");
  EXPECT_EQ(checks[1].status(), "warning");
  EXPECT_EQ(checks[1].output(), "half");
  EXPECT_EQ(checks[1].service_name(), "web");
  EXPECT_EQ(checks[0].notes(), "why");
  ASSERT_TRUE(agent_->removeService("web1").isOk());
  open();
  EXPECT_FALSE(agent_->service("web1"));
  EXPECT_EQ(agent_->checks().size(), 1u);
}

TEST_F(LocalAgentTest, RegistrationErrors) {
  CheckRegistration script;
  script.check.set_check_id("s");
  script.check.set_name("s");
  script.definition.script_args = {"/bin/true"};
  script.definition.interval = 10s;
  Status s = agent_->addCheck(script);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("Scripts are disabled on this agent", 0), 0u);
  s = agent_->addCheck(ttlCheck("x", "missing"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "ServiceID \"missing\" does not exist");
  CheckRegistration none;
  none.check.set_check_id("n");
  EXPECT_EQ(agent_->addCheck(none).code(), StatusCode::kInvalidArgument);
  auto bad = ttlCheck("b", "");
  bad.check.set_status("fine");
  EXPECT_EQ(agent_->addCheck(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agent_->removeService("nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(agent_->removeCheck("nope").code(), StatusCode::kNotFound);
}

TEST_F(LocalAgentTest, ReplaceExistingChecks) {
  ASSERT_TRUE(agent_->addService(web({ttlCheck("a", ""), ttlCheck("b", "")}), false).isOk());
  ASSERT_TRUE(agent_->addService(web({ttlCheck("a", "")}), false).isOk());
  EXPECT_EQ(agent_->serviceChecks("web1").size(), 2u);
  ASSERT_TRUE(agent_->addService(web({ttlCheck("a", "")}), true).isOk());
  auto checks = agent_->serviceChecks("web1");
  ASSERT_EQ(checks.size(), 1u);
  EXPECT_EQ(checks[0].check_id(), "a");
}

}  // namespace
}  // namespace cairn::local
