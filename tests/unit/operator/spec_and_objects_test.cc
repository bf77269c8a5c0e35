// The CairnCluster spec parser, the observe* parsers of Kubernetes objects and the servers'
// operator API answers (untrusted input: never a crash), and the desired objects.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "operator/cluster_spec.h"
#include "operator/desired_objects.h"
#include "operator/observed_state.h"

namespace cairn::op {
namespace {

using web::json::value;

TEST(ClusterSpec, EmptySpecTakesTheDefaults) {
  auto spec = parseClusterSpec(value::object());
  ASSERT_TRUE(spec.isOk());
  EXPECT_EQ(spec->servers, 3);
  EXPECT_EQ(spec->image, "cairn:0.1.0");
  EXPECT_EQ(spec->storage_size, "10Gi");
  EXPECT_EQ(spec->when_scaled_down, PvcRetention::kDelete);
  EXPECT_EQ(spec->when_deleted, PvcRetention::kRetain);
  EXPECT_EQ(spec->update_strategy, UpdateStrategy::kRollingUpdate);
}

TEST(ClusterSpec, ReadsEveryField) {
  auto spec = parseClusterSpec(value::parse(R"({
    "servers": 5, "image": "cairn:9", "imagePullPolicy": "Always",
    "storage": {"size": "1.5Gi", "storageClassName": "ssd", "whenScaledDown": "Retain",
                "whenDeleted": "Delete"},
    "updateStrategy": {"type": "OnDelete"}, "config": {"log_level": "DEBUG"},
    "resources": {"limits": {"memory": "1Gi"}}, "tolerations": [{"key": "a"}],
    "nodeSelector": {"disk": "ssd"}, "affinity": {}, "topologySpreadConstraints": [],
    "priorityClassName": "high"})"));
  ASSERT_TRUE(spec.isOk()) << spec.status().message();
  EXPECT_EQ(spec->servers, 5);
  EXPECT_EQ(spec->storage_class, "ssd");
  EXPECT_EQ(spec->when_scaled_down, PvcRetention::kRetain);
  EXPECT_EQ(spec->update_strategy, UpdateStrategy::kOnDelete);
  EXPECT_EQ(spec->config.at("log_level").as_string(), "DEBUG");
  EXPECT_EQ(spec->priority_class, "high");
}

struct BadSpec {
  const char* json;
  const char* message;
};

class ClusterSpecErrors : public testing::TestWithParam<BadSpec> {};

TEST_P(ClusterSpecErrors, NameTheField) {
  auto spec = parseClusterSpec(value::parse(GetParam().json));
  ASSERT_FALSE(spec.isOk());
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(spec.status().message().find(GetParam().message), std::string::npos)
      << spec.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ClusterSpecErrors,
    testing::Values(
        BadSpec{"[]", "spec: must be an object"},
        BadSpec{R"({"servers": "3"})", "spec.servers: must be an integer"},
        BadSpec{R"({"servers": 2.5})", "spec.servers: must be an integer"},
        BadSpec{R"({"servers": 0})", "between 1 and 9"},
        BadSpec{R"({"servers": 10})", "between 1 and 9"},
        BadSpec{R"({"servers": 99999999999})", "between 1 and 9"},
        BadSpec{R"({"image": ""})", "spec.image: must not be empty"},
        BadSpec{R"({"image": 7})", "spec.image: must be a string"},
        BadSpec{R"({"storage": "big"})", "spec.storage: must be an object"},
        BadSpec{R"({"storage": {"size": "lots"}})", "spec.storage.size"},
        BadSpec{R"({"storage": {"whenScaledDown": "Keep"}})", "must be Delete or Retain"},
        BadSpec{R"({"updateStrategy": {"type": "Recreate"}})", "must be RollingUpdate or OnDelete"},
        BadSpec{R"({"config": {"data_dir": "/x"}})",
                "spec.config.data_dir: is set by the operator"},
        BadSpec{R"({"config": {"retry_join": []}})", "spec.config.retry_join"},
        BadSpec{R"({"config": []})", "spec.config: must be an object"},
        BadSpec{R"({"tolerations": {}})", "spec.tolerations: must be a list"}));

TEST(Observe, ClusterKeepsABadSpecAsAStatus) {
  auto c = observeCluster(value::parse(R"({"metadata": {"name": "c", "namespace": "ns",
      "uid": "u", "generation": 4}, "spec": {"servers": "many"}, "status": {"leader": "c-0"}})"));
  ASSERT_TRUE(c.isOk());
  EXPECT_EQ(c->generation, 4);
  EXPECT_FALSE(c->spec_status.isOk());
  EXPECT_EQ(c->status.at("leader").as_string(), "c-0");
  EXPECT_FALSE(observeCluster(value::parse(R"({"metadata": {"name": "c"}})")).isOk());
}

TEST(Observe, StatefulSetAndPods) {
  auto sts = observeStatefulSet(value::parse(R"({
    "metadata": {"annotations": {"cairn.io/bootstrap-expect": "3"}},
    "spec": {"replicas": 4, "template": {
      "metadata": {"annotations": {"cairn.io/config-hash": "h1"}},
      "spec": {"containers": [{"image": "cairn:2"}]}}},
    "status": {"currentRevision": "a", "updateRevision": "b"}})"));
  ASSERT_TRUE(sts.isOk());
  EXPECT_EQ(sts->replicas, 4);
  EXPECT_EQ(sts->bootstrap_expect, 3);
  EXPECT_EQ(sts->update_revision, "b");
  EXPECT_EQ(sts->image, "cairn:2");
  EXPECT_EQ(sts->config_hash, "h1");
  auto p = observePod(value::parse(R"({
    "metadata": {"name": "c-12", "labels": {"controller-revision-hash": "b"},
                 "deletionTimestamp": "2026-01-01T00:00:00Z"},
    "status": {"conditions": [{"type": "Ready", "status": "True"}]}})"));
  ASSERT_TRUE(p.isOk());
  EXPECT_EQ(p->ordinal, 12);
  EXPECT_TRUE(p->ready);
  EXPECT_TRUE(p->terminating);
  EXPECT_EQ(p->revision, "b");
  EXPECT_FALSE(observePod(value::parse(R"({"metadata": {"name": "nodash"}})")).isOk());
}

TEST(Observe, RaftMergesConfigurationAndAutopilot) {
  auto conf = value::parse(R"({"Servers": [
    {"ID": "a", "Node": "c-0", "Address": "10.0.0.1:8300", "Leader": true, "Voter": true,
     "LastIndex": 42},
    {"ID": "b", "Node": "c-1", "Address": "10.0.0.2:8300", "Leader": false, "Voter": false,
     "LastIndex": 40}], "Index": 9})");
  auto health = value::parse(R"({"Healthy": false, "FailureTolerance": 0, "Servers": [
    {"ID": "a", "Healthy": true, "Version": "0.1.0"}, {"ID": "b", "Healthy": false}]})");
  auto view = observeRaft(conf, health, "10.0.0.1:8300");
  ASSERT_TRUE(view.isOk());
  EXPECT_EQ(view->leader, "c-0");
  EXPECT_EQ(view->last_index, 42u);
  EXPECT_EQ(view->version, "0.1.0");
  EXPECT_EQ(view->voters(), 1);
  EXPECT_EQ(view->healthyVoters(), 1);
  EXPECT_FALSE(view->healthy);
  EXPECT_FALSE(view->members[1].healthy);
  // A configuration naming a leader that /v1/status/leader does not confirm has none.
  EXPECT_EQ(observeRaft(conf, health, "")->leader, "");
}

TEST(Observe, GarbageNeverCrashes) {
  std::vector<std::string> inputs = {
      "null",
      "1",
      "\"x\"",
      "[]",
      "{}",
      R"({"metadata": 5})",
      R"({"metadata": {"name": 5}})",
      R"({"spec": []})",
      R"({"spec": {"replicas": "3"}})",
      R"({"Servers": {}})",
      R"({"Servers": [1, null, {}]})",
      R"({"Servers": [{"ID": 3}]})",
      R"({"metadata": {"name": "c-x"}, "status": {"conditions": {}}})"};
  for (const auto& text : inputs) {
    value v = value::parse(text);
    (void)observeCluster(v);
    (void)observeStatefulSet(v);
    (void)observePod(v);
    (void)observeRaft(v, v, "x");
    (void)parseClusterSpec(v);
  }
}

ObservedCluster cluster(const char* spec_json) {
  ObservedCluster c;
  c.name = "prod";
  c.name_space = "db";
  c.uid = "u-1";
  c.spec = *parseClusterSpec(value::parse(spec_json));
  return c;
}

TEST(DesiredObjects, OwnedLabelledAndNamed) {
  DesiredObjects d = desiredObjects(cluster("{}"), 3, 3);
  std::vector<std::string> names;
  for (const value& o : d.all()) {
    names.push_back(o.at("kind").as_string() + "/" + o.at("metadata").at("name").as_string());
    const value& owner = o.at("metadata").at("ownerReferences").at(0);
    EXPECT_EQ(owner.at("uid").as_string(), "u-1");
    EXPECT_TRUE(owner.at("controller").as_bool());
    EXPECT_EQ(o.at("metadata").at("namespace").as_string(), "db");
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"ConfigMap/prod-config", "Service/prod-peers", "Service/prod",
                                      "PodDisruptionBudget/prod", "StatefulSet/prod"}));
  EXPECT_TRUE(d.peers_service.at("spec").at("publishNotReadyAddresses").as_bool());
  EXPECT_EQ(d.peers_service.at("spec").at("clusterIP").as_string(), "None");
}

TEST(DesiredObjects, StatefulSetIsDrivenByTheOperator) {
  DesiredObjects d = desiredObjects(cluster(R"({"storage": {"storageClassName": "ssd"}})"), 4, 3);
  const value& spec = d.stateful_set.at("spec");
  EXPECT_EQ(spec.at("replicas").as_integer(), 4);
  EXPECT_EQ(spec.at("podManagementPolicy").as_string(), "Parallel");
  EXPECT_EQ(spec.at("updateStrategy").at("type").as_string(), "OnDelete");
  EXPECT_EQ(spec.at("serviceName").as_string(), "prod-peers");
  EXPECT_EQ(spec.at("persistentVolumeClaimRetentionPolicy").at("whenScaled").as_string(), "Retain");
  EXPECT_EQ(spec.at("volumeClaimTemplates").at(0).at("spec").at("storageClassName").as_string(),
            "ssd");
  std::string args = spec.at("template").at("spec").at("containers").at(0).at("args").serialize();
  EXPECT_NE(args.find("-bootstrap-expect=3"), std::string::npos);
  EXPECT_NE(args.find("-retry-join=prod-peers.db.svc"), std::string::npos);
  EXPECT_NE(args.find("-node=$(POD_NAME)"), std::string::npos);
  // Ready is the server's own "member of a cluster with a leader" answer, not "a leader exists".
  EXPECT_EQ(spec.at("template")
                .at("spec")
                .at("containers")
                .at(0)
                .at("readinessProbe")
                .at("httpGet")
                .at("path")
                .as_string(),
            "/v1/operator/raft/self-health");
}

TEST(DesiredObjects, ConfigChangesMakeANewTemplateScalingDoesNot) {
  auto hash = [](const DesiredObjects& d) {
    return d.stateful_set.at("spec").at("template").at("metadata").at("annotations").serialize();
  };
  DesiredObjects a = desiredObjects(cluster("{}"), 3, 3);
  DesiredObjects b = desiredObjects(cluster(R"({"servers": 5})"), 5, 3);
  DesiredObjects c = desiredObjects(cluster(R"({"config": {"log_level": "DEBUG"}})"), 3, 3);
  EXPECT_EQ(hash(a), hash(b));
  EXPECT_EQ(a.stateful_set.at("spec").at("template").serialize(),
            b.stateful_set.at("spec").at("template").serialize());
  EXPECT_NE(hash(a), hash(c));
  EXPECT_NE(hash(c).find(configHash(cluster(R"({"config": {"log_level": "DEBUG"}})").spec)),
            std::string::npos);
  std::string config = c.config_map.at("data").at("server.json").as_string();
  EXPECT_NE(config.find("\"log_level\":\"DEBUG\""), std::string::npos);
  EXPECT_NE(config.find("\"leave_on_terminate\":false"), std::string::npos);
}

TEST(DesiredObjects, DisruptionBudgetKeepsQuorum) {
  std::vector<int> want = {0, 0, 0, 1, 1, 1, 1, 1, 1, 1};  // index: servers
  for (int n = 1; n <= kMaxServers; ++n) EXPECT_EQ(maxUnavailable(n), want[n]) << n;
  // Half-way through a scale-up from 1 to 3, the 2 servers running cannot lose one.
  auto budget = [](const DesiredObjects& d) {
    return d.pdb.at("spec").at("maxUnavailable").as_integer();
  };
  EXPECT_EQ(budget(desiredObjects(cluster(R"({"servers": 3})"), 2, 1)), 0);
  EXPECT_EQ(budget(desiredObjects(cluster(R"({"servers": 3})"), 3, 1)), 1);
  EXPECT_EQ(budget(desiredObjects(cluster(R"({"servers": 1})"), 3, 3)), 0);
}

}  // namespace
}  // namespace cairn::op
