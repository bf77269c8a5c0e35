// /v1/operator/* and /v1/snapshot handlers against a scripted Node and a real state store.
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "core/base/gzip.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/store/state_image.h"
#include "tests/unit/http/route_call.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::http {
namespace {

// A Node whose operator answers are set by the test. propose() applies at once.
class ScriptedNode : public node::Node {
 public:
  explicit ScriptedNode(store::StateStore& store) : store_(store) {}

  void propose(v1::Command command, node::ProposeCallback done) override {
    proposed.push_back(command);
    store::LogEntry entry{std::max<uint64_t>(store_.appliedIndex(), 1) + 1, &command};
    auto outcomes = store_.apply(std::span(&entry, 1), false);
    done(node::ProposeResult{entry.index, std::move(outcomes[0])});
  }
  void readBarrier(node::ReadMode mode, std::function<void(Status)> done) override {
    barriers.push_back(mode);
    done(barrier);
  }
  node::LeaderStatus leaderStatus() const override { return leader_status; }
  bool isLeader() const override { return leader; }
  node::RaftConfiguration raftConfiguration() const override { return configuration; }
  void removePeer(const std::string& target, std::function<void(Status)> done) override {
    removed.push_back(target);
    done(remove_result);
  }
  void transferLeadership(const std::string& id, std::function<void(Status)> done) override {
    transfer_targets.push_back(id);
    done(transfer_result);
  }
  StatusOr<node::AutopilotHealth> autopilotHealth() const override { return health; }

  node::LeaderStatus leader_status{true, 0, "10.0.0.1:8300", {}};
  bool leader = true;
  std::vector<v1::Command> proposed;
  std::vector<node::ReadMode> barriers;
  Status barrier;
  node::RaftConfiguration configuration;
  std::vector<std::string> removed;
  Status remove_result;
  std::vector<std::string> transfer_targets;
  Status transfer_result;
  StatusOr<node::AutopilotHealth> health = unavailable("not set");

 private:
  store::StateStore& store_;
};

class OperatorHandlersTest : public store::testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    node_ = std::make_unique<ScriptedNode>(*store_);
    node_->configuration = {{{"id-1", "node-1", "10.0.0.1:8300", true, true, 42},
                             {"id-2", "node-2", "10.0.0.2:8300", false, true, 40}},
                            7};
    ctx_ = std::make_unique<ApiContext>(
        ApiContext{*node_, *store_, hub_, timers_, slow_work_, metrics_, AgentInfo{}});
    ctx_->agent.node_id = "id-1";
    ctx_->agent.datacenter = "dc1";
    ctx_->agent.version = "0.1.0";
    addOperatorRoutes(router_, *ctx_);
    addSnapshotRoutes(router_, *ctx_);
  }

  HttpResponse call(std::string method, std::string path, std::string query = "",
                    std::string body = "") {
    return testing::callRoute(router_, std::move(method), std::move(path), std::move(query),
                              std::move(body));
  }

  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [n, v] : r.headers) {
      if (n == name) return v;
    }
    return "";
  }

  TimerQueue timers_;
  SerialWorker slow_work_;
  metrics::Metrics metrics_{"test", "test"};
  std::unique_ptr<ScriptedNode> node_;
  std::unique_ptr<ApiContext> ctx_;
  Router router_;
};

TEST_F(OperatorHandlersTest, RaftConfigurationHasConsulsShape) {
  HttpResponse r = call("GET", "/v1/operator/raft/configuration", "stale");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body,
            R"({"Servers":[{"ID":"id-1","Node":"node-1","Address":"10.0.0.1:8300","Leader":true,)"
            R"("ProtocolVersion":"3","Voter":true,"LastIndex":42},{"ID":"id-2","Node":"node-2",)"
            R"("Address":"10.0.0.2:8300","Leader":false,"ProtocolVersion":"3","Voter":true,)"
            R"("LastIndex":40}],"Index":7})");
  ASSERT_EQ(node_->barriers.size(), 1u);
  EXPECT_EQ(node_->barriers[0], node::ReadMode::kStale);
}

TEST_F(OperatorHandlersTest, RaftConfigurationFailsWithoutALeader) {
  node_->barrier = unavailable("No cluster leader");
  HttpResponse r = call("GET", "/v1/operator/raft/configuration");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "No cluster leader");
  EXPECT_EQ(call("GET", "/v1/operator/raft/configuration", "stale&consistent").status, 400);
  EXPECT_EQ(call("GET", "/v1/operator/raft/configuration", "dc=other").status, 500);
}

TEST_F(OperatorHandlersTest, RemovePeerNeedsIdOrAddressInTheConfiguration) {
  HttpResponse r = call("DELETE", "/v1/operator/raft/peer");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body,
            "Must specify either ?id with the server's ID or ?address with IP:port of peer to "
            "remove");
  r = call("DELETE", "/v1/operator/raft/peer", "id=nope");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "id \"nope\" was not found in the Raft configuration");
  r = call("DELETE", "/v1/operator/raft/peer", "address=10.0.0.9:8300");
  EXPECT_EQ(r.body, "address \"10.0.0.9:8300\" was not found in the Raft configuration");
  EXPECT_TRUE(node_->removed.empty());
  r = call("DELETE", "/v1/operator/raft/peer", "address=10.0.0.2:8300");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "");
  r = call("DELETE", "/v1/operator/raft/peer", "id=id-2&address=whatever");
  EXPECT_EQ(r.status, 200) << "?id wins, as in Consul";
  EXPECT_EQ(node_->removed, (std::vector<std::string>{"10.0.0.2:8300", "id-2"}));
  node_->remove_result = unavailable("not the leader");
  r = call("DELETE", "/v1/operator/raft/peer", "id=id-2");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "not the leader");
  EXPECT_EQ(call("GET", "/v1/operator/raft/peer", "id=id-2").status, 405);
}

TEST_F(OperatorHandlersTest, TransferLeader) {
  HttpResponse r = call("POST", "/v1/operator/raft/transfer-leader");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"Success":true})");
  call("POST", "/v1/operator/raft/transfer-leader", "id=id-2");
  EXPECT_EQ(node_->transfer_targets, (std::vector<std::string>{"", "id-2"}));
  node_->transfer_result = unavailable("cannot find peer");
  r = call("POST", "/v1/operator/raft/transfer-leader");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "cannot find peer");
  EXPECT_EQ(call("PUT", "/v1/operator/raft/transfer-leader").status, 405);
}

TEST_F(OperatorHandlersTest, AutopilotHealthIs200WhenHealthyElse429) {
  node::AutopilotHealth health{true, 1, {}};
  health.servers.push_back({node_->configuration.servers[0], true, 0, 3, 42});
  health.servers.push_back({node_->configuration.servers[1], true, 12, 3, 40});
  node_->health = health;
  HttpResponse r = call("GET", "/v1/operator/autopilot/health");
  EXPECT_EQ(r.status, 200);
  std::regex shape(
      R"(\{"Healthy":true,"FailureTolerance":1,"Servers":\[)"
      R"(\{"ID":"id-1","Name":"node-1","Address":"10.0.0.1:8300","SerfStatus":"alive",)"
      R"("Version":"0.1.0","Leader":true,"LastContact":"0s","LastTerm":3,"LastIndex":42,)"
      R"("Healthy":true,"Voter":true,"StableSince":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"\},)"
      R"(\{"ID":"id-2","Name":"node-2","Address":"10.0.0.2:8300","SerfStatus":"alive",)"
      R"("Version":"","Leader":false,"LastContact":"12ms",.*"Healthy":true,"Voter":true,.*\]\})");
  EXPECT_TRUE(std::regex_match(r.body, shape)) << r.body;
  health.healthy = false;
  health.failure_tolerance = 0;
  health.servers[1].healthy = false;
  node_->health = health;
  r = call("GET", "/v1/operator/autopilot/health");
  EXPECT_EQ(r.status, 429);
  EXPECT_NE(r.body.find(R"("SerfStatus":"failed")"), std::string::npos) << r.body;
  node_->health = unavailable("No cluster leader");
  r = call("GET", "/v1/operator/autopilot/health");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "No cluster leader");
}

// The readiness probe of a server pod: answered locally, never relayed to the leader.
TEST_F(OperatorHandlersTest, SelfHealthIsReadyForAMemberOfAClusterWithALeader) {
  // This server (id-1) leads, and both voters are healthy.
  node::AutopilotHealth health{true, 1, {}};
  health.servers.push_back({node_->configuration.servers[0], true, 0, 3, 42});
  health.servers.push_back({node_->configuration.servers[1], true, 12, 3, 40});
  node_->health = health;
  HttpResponse r = call("GET", "/v1/operator/raft/self-health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"Ready":true,"Reason":"voter","ID":"id-1","Node":"","Member":true,"Voter":true,)"
            R"("Leader":true,"KnownLeader":true,"LeaderAddress":"10.0.0.1:8300",)"
            R"("LastContact":"0s"})");
  // A leader that lost its followers is not ready, even before check-quorum steps it down.
  health.servers[1].healthy = false;
  node_->health = health;
  r = call("GET", "/v1/operator/raft/self-health");
  EXPECT_EQ(r.status, 503);
  EXPECT_NE(r.body.find(R"("Reason":"leader with 1 healthy voters of 2")"), std::string::npos)
      << r.body;

  // As a follower (id-2) heard from recently: a voter, then a learner catching up.
  ctx_->agent.node_id = "id-2";
  node_->leader = false;
  node_->leader_status.last_contact_ms = 150;
  node_->health = unavailable("not the leader");
  r = call("GET", "/v1/operator/raft/self-health");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("LastContact":"150ms")"), std::string::npos) << r.body;
  node_->configuration.servers[1].voter = false;
  r = call("GET", "/v1/operator/raft/self-health");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("Reason":"learner catching up")"), std::string::npos) << r.body;
}

TEST_F(OperatorHandlersTest, SelfHealthIs503WithTheReason) {
  ctx_->agent.node_id = "id-2";
  node_->leader = false;
  auto reason = [this] {
    HttpResponse r = call("GET", "/v1/operator/raft/self-health");
    EXPECT_EQ(r.status, 503) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    std::smatch m;
    std::regex_search(r.body, m, std::regex(R"re("Reason":"([^"]*)")re"));
    return m.size() > 1 ? m[1].str() : r.body;
  };
  node_->leader_status.last_contact_ms = 2500;
  EXPECT_EQ(reason(), "no contact with the leader for 2500 ms");
  node_->leader_status = {};
  EXPECT_EQ(reason(), "no known leader");
  node_->leader_status = {true, 10, "10.0.0.1:8300", {}};
  ctx_->agent.node_id = "id-3";  // joined nowhere yet
  EXPECT_EQ(reason(), "not in the Raft configuration (yet)");
  EXPECT_EQ(call("POST", "/v1/operator/raft/self-health").status, 405);
}

TEST_F(OperatorHandlersTest, AutopilotConfigurationDefaults) {
  HttpResponse r = call("GET", "/v1/operator/autopilot/configuration");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body,
            R"({"CleanupDeadServers":true,"LastContactThreshold":"200ms","MaxTrailingLogs":250,)"
            R"("MinQuorum":0,"ServerStabilizationTime":"10s","RedundancyZoneTag":"",)"
            R"("DisableUpgradeMigration":false,"UpgradeVersionTag":"",)"
            R"("CreateIndex":0,"ModifyIndex":0})");
}

TEST_F(OperatorHandlersTest, AutopilotConfigurationSetThroughTheLogWithCas) {
  HttpResponse r = call("PUT", "/v1/operator/autopilot/configuration", "",
                        R"({"CleanupDeadServers":false,"LastContactThreshold":"1s"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "true");
  ASSERT_EQ(node_->proposed.size(), 1u);
  EXPECT_TRUE(node_->proposed[0].has_autopilot_set_config());
  auto conf = parseJson(call("GET", "/v1/operator/autopilot/configuration").body);
  ASSERT_TRUE(conf.isOk());
  EXPECT_FALSE(conf->at("CleanupDeadServers").as_bool());
  EXPECT_EQ(conf->at("LastContactThreshold").as_string(), "1s");
  EXPECT_EQ(conf->at("MaxTrailingLogs").as_integer(), 250);  // left out: unchanged
  uint64_t index = conf->at("ModifyIndex").as_number().to_uint64();
  ASSERT_GT(index, 0u);
  // A stale ModifyIndex: false, nothing changes.
  r = call("PUT", "/v1/operator/autopilot/configuration", "cas=" + std::to_string(index - 1),
           R"({"MaxTrailingLogs":7})");
  EXPECT_EQ(r.body, "false");
  r = call("PUT", "/v1/operator/autopilot/configuration", "cas=" + std::to_string(index),
           R"({"MaxTrailingLogs":7})");
  EXPECT_EQ(r.body, "true");
  conf = parseJson(call("GET", "/v1/operator/autopilot/configuration").body);
  EXPECT_EQ(conf->at("MaxTrailingLogs").as_integer(), 7);
  EXPECT_EQ(call("PUT", "/v1/operator/autopilot/configuration", "", "[1]").status, 400);
  EXPECT_EQ(
      call("PUT", "/v1/operator/autopilot/configuration", "", R"({"LastContactThreshold":true})")
          .status,
      400);
}

TEST_F(OperatorHandlersTest, SnapshotGetServesAGzippedImageWithReadHeaders) {
  ASSERT_TRUE(set("k", "v").ok);
  ASSERT_TRUE(set("k2", "v2").ok);
  HttpResponse r = call("GET", "/v1/snapshot", "stale");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/x-gzip");
  EXPECT_EQ(header(r, "X-Consul-Index"), "2");
  EXPECT_EQ(header(r, "X-Consul-Effective-Consistency"), "stale");
  EXPECT_EQ(header(r, "X-Consul-KnownLeader"), "true");
  uint64_t index = 0;
  auto image = store::decodeSnapshot(r.body, &index);
  ASSERT_TRUE(image.isOk()) << image.status().toString();
  EXPECT_EQ(index, 2u);
  EXPECT_EQ(*image, store_->image());
}

TEST_F(OperatorHandlersTest, SnapshotPutProposesARestore) {
  ASSERT_TRUE(set("k", "saved").ok);
  std::string body = call("GET", "/v1/snapshot").body;
  ASSERT_TRUE(set("k", "changed").ok);
  ASSERT_TRUE(set("other", "x").ok);
  HttpResponse r = call("PUT", "/v1/snapshot", "", body);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
  ASSERT_EQ(node_->proposed.size(), 1u);
  ASSERT_TRUE(node_->proposed[0].has_restore());
  EXPECT_EQ(node_->proposed[0].restore().image(), *store::decodeSnapshot(body));
  EXPECT_EQ(store_->get("k").entry.value, "saved");
  EXPECT_FALSE(store_->get("other").found);
}

TEST_F(OperatorHandlersTest, SnapshotPutRejectsCorruptBodiesBeforeProposing) {
  ASSERT_TRUE(set("k", "v").ok);
  std::string good = call("GET", "/v1/snapshot").body;
  for (std::string body : {std::string(), std::string("not a snapshot"),
                           good.substr(0, good.size() / 2), gzipCompress("not an image")}) {
    HttpResponse r = call("PUT", "/v1/snapshot", "", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body.rfind("invalid snapshot: ", 0), 0u) << r.body;
  }
  EXPECT_TRUE(node_->proposed.empty());
  EXPECT_EQ(store_->get("k").entry.value, "v");
  const Route* route = router_.match("/v1/snapshot");
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->max_body, size_t{256} << 20);
}

}  // namespace
}  // namespace cairn::http
