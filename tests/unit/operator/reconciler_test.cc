// Every rule of the pure reconciler (operator/reconciler.h, docs/operator.md), one table row per
// situation: the observed state, the one action expected, and the Progressing reason it reports.

#include "operator/reconciler.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "operator/desired_objects.h"

namespace cairn::op {
namespace {

using web::json::value;

// A healthy cluster "c": `replicas` server pods, all Ready on revision r1, all healthy voters,
// c-0 leading; the spec asks for `servers`.
ObservedState healthy(int replicas, int servers) {
  ObservedState s;
  s.cluster.name = "c";
  s.cluster.name_space = "ns";
  s.cluster.uid = "uid-1";
  s.cluster.generation = 2;
  s.cluster.spec.servers = servers;
  s.cluster.status = value::parse(R"({"leader":"c-0","observedGeneration":2})");
  s.statefulset = ObservedStatefulSet{replicas, "r1", "r1", 3, "cairn:0.1.0"};
  s.raft.reachable = true;
  s.raft.leader = "c-0";
  s.raft.healthy = true;
  s.raft.last_index = 100;
  for (int i = 0; i < replicas; ++i) {
    std::string name = podName("c", i);
    s.pods.push_back({name, i, true, false, "r1"});
    s.pvcs.push_back(pvcName("c", i));
    s.raft.members.push_back(
        {"id-" + std::to_string(i), name, "10.0.0." + std::to_string(i), true, i == 0, true, 100});
  }
  s.raft.failure_tolerance = replicas - quorum(replicas);
  s.now = "2026-12-07T13:00:00Z";
  return s;
}

RaftMember* member(ObservedState& s, const std::string& node) {
  for (auto& m : s.raft.members) {
    if (m.node == node) return &m;
  }
  return nullptr;
}

ObservedPod* pod(ObservedState& s, const std::string& name) {
  for (auto& p : s.pods) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

void removePod(ObservedState& s, const std::string& name) {
  std::erase_if(s.pods, [&](const ObservedPod& p) { return p.name == name; });
}

void removeMember(ObservedState& s, const std::string& node) {
  std::erase_if(s.raft.members, [&](const RaftMember& m) { return m.node == node; });
}

void leader(ObservedState& s, const std::string& node) {
  for (auto& m : s.raft.members) m.leader = m.node == node;
  s.raft.leader = node;
}

std::string condition(const Decision& d, const std::string& type, const char* field) {
  for (const value& c : d.status.at("conditions").as_array()) {
    if (c.at("type").as_string() == type) return c.at(field).as_string();
  }
  return "<missing>";
}

bool appliesStatefulSet(const Decision& d, int* replicas = nullptr) {
  for (const value& o : d.apply) {
    if (o.at("kind").as_string() == "StatefulSet") {
      if (replicas) *replicas = o.at("spec").at("replicas").as_integer();
      return true;
    }
  }
  return false;
}

struct Case {
  const char* name;
  std::function<ObservedState()> state;
  ActionKind action;
  std::string target;  // "" : not checked
  int replicas;        // -1 : not checked
  std::string progressing;
  std::string degraded = "";  // "" : not checked (else the Degraded condition's status)
};

std::vector<Case> cases() {
  return {
      {"steady", [] { return healthy(3, 3); }, ActionKind::kNone, "", -1, "Stable", "False"},
      {"invalid spec is not acted on",
       [] {
         auto s = healthy(3, 3);
         s.cluster.spec_status = invalidArgument("spec.servers: must be an integer");
         return s;
       },
       ActionKind::kNone, "", -1, "InvalidSpec", "True"},
      {"no StatefulSet: create all servers at once",
       [] {
         auto s = healthy(3, 3);
         s.statefulset.reset();
         s.pods.clear();
         s.raft = {};
         s.cluster.status = value::object();
         return s;
       },
       ActionKind::kCreate, "", 3, "Creating"},
      {"no leader after forming: hold",
       [] {
         auto s = healthy(3, 5);
         leader(s, "");
         return s;
       },
       ActionKind::kHold, "", -1, "Held", "True"},
      {"nobody answers: hold",
       [] {
         auto s = healthy(3, 3);
         s.raft = {};
         return s;
       },
       ActionKind::kHold, "", -1, "Held", "True"},
      {"no leader yet while bootstrapping: wait",
       [] {
         auto s = healthy(3, 3);
         s.raft = {};
         s.cluster.status = value::object();
         return s;
       },
       ActionKind::kNone, "", -1, "Bootstrapping", "False"},
      {"scale up: one server at a time", [] { return healthy(3, 5); },
       ActionKind::kScaleStatefulSet, "", 4, "ScalingUp"},
      {"scale up: the new pod is not Ready yet",
       [] {
         auto s = healthy(4, 5);
         pod(s, "c-3")->ready = false;
         removeMember(s, "c-3");
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForPod"},
      {"scale up: the new server has not joined yet",
       [] {
         auto s = healthy(4, 5);
         removeMember(s, "c-3");
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForJoin"},
      {"scale up: the new server is a non-voter catching up",
       [] {
         auto s = healthy(4, 5);
         member(s, "c-3")->voter = false;
         member(s, "c-3")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForPromotion"},
      {"scale up: next server once the last is a healthy voter", [] { return healthy(4, 5); },
       ActionKind::kScaleStatefulSet, "", 5, "ScalingUp"},
      {"scale down: remove the highest ordinal from Raft first", [] { return healthy(5, 3); },
       ActionKind::kRemoveMember, "id-4", -1, "ScalingDown"},
      {"scale down: the victim leads, transfer leadership first",
       [] {
         auto s = healthy(5, 3);
         leader(s, "c-4");
         return s;
       },
       ActionKind::kTransferLeadership, "c-4", -1, "ScalingDown"},
      {"scale down: out of Raft, shrink the StatefulSet",
       [] {
         auto s = healthy(5, 3);
         removeMember(s, "c-4");
         return s;
       },
       ActionKind::kScaleStatefulSet, "", 4, "ScalingDown"},
      {"scale down: the removed server's PVC is deleted",
       [] {
         auto s = healthy(4, 3);
         s.pvcs.push_back(pvcName("c", 4));
         return s;
       },
       ActionKind::kDeletePvc, "data-c-4", -1, "DeletingVolume"},
      {"scale down: a retained PVC is kept, the next server goes",
       [] {
         auto s = healthy(4, 3);
         s.cluster.spec.when_scaled_down = PvcRetention::kRetain;
         s.pvcs.push_back(pvcName("c", 4));
         return s;
       },
       ActionKind::kRemoveMember, "id-3", -1, "ScalingDown"},
      {"scale down: never while a member is unhealthy",
       [] {
         auto s = healthy(5, 3);
         member(s, "c-1")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForHealthy", "True"},
      {"scale down to one: the last follower goes",
       [] {
         auto s = healthy(2, 1);
         leader(s, "c-1");
         return s;
       },
       ActionKind::kTransferLeadership, "c-1", -1, "ScalingDown"},
      {"upgrade: the highest-ordinal follower restarts first",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         return s;
       },
       ActionKind::kDeletePod, "c-2", -1, "RollingUpgrade"},
      {"upgrade: one at a time, the restarted pod must be back",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         pod(s, "c-2")->revision = "r2";
         pod(s, "c-2")->ready = false;
         member(s, "c-2")->healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForPod"},
      {"upgrade: followers before the leader",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         leader(s, "c-2");
         pod(s, "c-0")->revision = "r2";
         return s;
       },
       ActionKind::kDeletePod, "c-1", -1, "RollingUpgrade"},
      {"upgrade: the leader last, after a transfer",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         pod(s, "c-1")->revision = "r2";
         pod(s, "c-2")->revision = "r2";
         return s;
       },
       ActionKind::kTransferLeadership, "c-0", -1, "RollingUpgrade"},
      {"upgrade: a single server restarts (with a warning)",
       [] {
         auto s = healthy(1, 1);
         s.statefulset->update_revision = "r2";
         return s;
       },
       ActionKind::kDeletePod, "c-0", -1, "RollingUpgrade"},
      {"upgrade: OnDelete waits for someone to delete pods",
       [] {
         auto s = healthy(3, 3);
         s.cluster.spec.update_strategy = UpdateStrategy::kOnDelete;
         s.statefulset->update_revision = "r2";
         return s;
       },
       ActionKind::kNone, "", -1, "RestartPending"},
      {"upgrade waits for a scale-down victim to be gone, not restarted",
       [] {
         auto s = healthy(4, 3);
         s.statefulset->update_revision = "r2";
         for (auto& p : s.pods) p.revision = p.name == "c-3" ? "r1" : "r2";
         return s;
       },
       ActionKind::kRemoveMember, "id-3", -1, "ScalingDown"},
      {"empty disk: the old identity of a rejoined pod is removed",
       [] {
         auto s = healthy(3, 3);
         member(s, "c-1")->healthy = false;
         s.raft.members.push_back({"id-1b", "c-1", "10.0.0.9", false, false, false, 90});
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kRemoveMember, "id-1", -1, "RemovingStaleMember"},
      {"empty disk: not removed when the rest would lose quorum",
       [] {
         auto s = healthy(3, 3);
         member(s, "c-1")->healthy = false;
         member(s, "c-2")->healthy = false;
         s.raft.members.push_back({"id-1b", "c-1", "10.0.0.9", false, false, false, 90});
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kHold, "", -1, "Held", "True"},
      {"a member whose pod is gone for good past the StatefulSet is removed",
       [] {
         auto s = healthy(3, 3);
         s.raft.members.push_back({"id-3", "c-3", "10.0.0.3", true, false, false, 50});
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kRemoveMember, "id-3", -1, "RemovingStaleMember"},
      {"lost pod: wait for it to come back, never shrink",
       [] {
         auto s = healthy(3, 3);
         removePod(s, "c-2");
         member(s, "c-2")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForPod", "True"},
      {"a server the operator does not know is left alone",
       [] {
         auto s = healthy(3, 3);
         s.raft.members.push_back({"id-x", "outsider", "10.9.9.9", false, false, false, 1});
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForHealthy"},
      {"even size: allowed", [] { return healthy(3, 4); }, ActionKind::kScaleStatefulSet, "", 4,
       "ScalingUp"},
      {"upgrade: a restarted operator goes on with the next follower, not an upgraded one",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         pod(s, "c-2")->revision = "r2";
         return s;
       },
       ActionKind::kDeletePod, "c-1", -1, "RollingUpgrade"},
      {"upgrade: the restarted server was killed again while catching up: wait",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         pod(s, "c-2")->revision = "r2";
         member(s, "c-2")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForHealthy", "True"},
      {"lost quorum with a leader still in place: a scale-up is held",
       [] {
         auto s = healthy(3, 5);
         member(s, "c-1")->healthy = false;
         member(s, "c-2")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kHold, "", -1, "Held", "True"},
      {"lost quorum with a leader still in place: an upgrade step is held",
       [] {
         auto s = healthy(3, 3);
         s.statefulset->update_revision = "r2";
         member(s, "c-1")->healthy = false;
         member(s, "c-2")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kHold, "", -1, "Held", "True"},
      {"lost quorum with a leader still in place: a scale-down is held",
       [] {
         auto s = healthy(5, 3);
         for (const char* n : {"c-2", "c-3", "c-4"}) member(s, n)->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kHold, "", -1, "Held", "True"},
      {"a minority down is not a hold: wait for it",
       [] {
         auto s = healthy(5, 5);
         member(s, "c-3")->healthy = false;
         member(s, "c-4")->healthy = false;
         s.raft.healthy = false;
         return s;
       },
       ActionKind::kNone, "", -1, "WaitingForHealthy", "True"},
  };
}

class ReconcilerRules : public testing::TestWithParam<Case> {};

TEST_P(ReconcilerRules, PicksTheNextSafeAction) {
  const Case& c = GetParam();
  ObservedState state = c.state();
  Decision d = reconcile(state);
  EXPECT_EQ(actionName(d.action.kind), std::string(actionName(c.action)));
  if (!c.target.empty()) {
    EXPECT_EQ(d.action.target, c.target);
  }
  if (c.replicas >= 0) {
    EXPECT_EQ(d.action.replicas, c.replicas);
  }
  EXPECT_EQ(condition(d, "Progressing", "reason"), c.progressing)
      << condition(d, "Progressing", "message");
  if (!c.degraded.empty()) {
    EXPECT_EQ(condition(d, "Degraded", "status"), c.degraded);
  }
  // Every decision that changes something says so in an Event; waiting says why in Progressing.
  bool acts = d.action.kind != ActionKind::kNone && d.action.kind != ActionKind::kHold;
  if (acts) {
    EXPECT_FALSE(d.events.empty());
  }
  EXPECT_FALSE(condition(d, "Progressing", "message").empty());
  // The StatefulSet's size only ever moves through an explicit scale (or create) action.
  int replicas = 0;
  if (appliesStatefulSet(d, &replicas) && state.statefulset) {
    int want = d.action.kind == ActionKind::kScaleStatefulSet ? d.action.replicas
                                                              : state.statefulset->replicas;
    EXPECT_EQ(replicas, want);
  }
}

INSTANTIATE_TEST_SUITE_P(Table, ReconcilerRules, testing::ValuesIn(cases()),
                         [](const testing::TestParamInfo<Case>& row) {
                           std::string n = row.param.name;
                           for (char& ch : n) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return n;
                         });

TEST(Reconciler, HoldingLeavesTheStatefulSetAlone) {
  auto s = healthy(3, 5);
  leader(s, "");
  Decision d = reconcile(s);
  EXPECT_FALSE(appliesStatefulSet(d));
  EXPECT_FALSE(d.apply.empty());  // Services, ConfigMap and PDB cannot restart a server
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_TRUE(d.events[0].warning);
  EXPECT_EQ(d.events[0].reason, "QuorumLost");
  EXPECT_EQ(condition(d, "Available", "status"), "False");
}

// A spec change made while the cluster has no quorum: held, and the status says what and why.
TEST(Reconciler, HoldNamesTheHeldChangeAndWhy) {
  auto s = healthy(3, 5);
  leader(s, "");
  s.raft.healthy = false;
  for (auto& m : s.raft.members) m.healthy = false;
  Decision d = reconcile(s);
  EXPECT_EQ(d.action.kind, ActionKind::kHold);
  std::string progressing = condition(d, "Progressing", "message");
  EXPECT_NE(progressing.find("scaling from 3 to 5 servers"), std::string::npos) << progressing;
  EXPECT_NE(progressing.find("no leader"), std::string::npos) << progressing;
  EXPECT_EQ(condition(d, "Progressing", "status"), "False");
  EXPECT_EQ(condition(d, "Degraded", "reason"), "QuorumLost");
  EXPECT_EQ(condition(d, "Available", "reason"), "NoLeader");
  // The leader still in place but without a healthy majority: the same hold, another reason.
  leader(s, "c-0");
  member(s, "c-0")->healthy = true;
  Decision at_risk = reconcile(s);
  EXPECT_EQ(at_risk.action.kind, ActionKind::kHold);
  EXPECT_FALSE(appliesStatefulSet(at_risk));
  EXPECT_EQ(condition(at_risk, "Degraded", "reason"), "QuorumAtRisk");
  std::string why = condition(at_risk, "Progressing", "message");
  EXPECT_NE(why.find("only 1 of 3 voters are healthy, 2 are needed"), std::string::npos) << why;
}

TEST(Reconciler, HoldWarnsOnceThenOncePerHeldSpecGeneration) {
  auto s = healthy(3, 3);
  leader(s, "");
  Decision first = reconcile(s);
  ASSERT_EQ(first.events.size(), 1u);
  EXPECT_EQ(first.events[0].reason, "QuorumLost");
  s.cluster.status = first.status;
  EXPECT_TRUE(reconcile(s).events.empty()) << "no Event on every pass of a hold";
  // A new generation changes the image while held: its own Warning, naming the change.
  s.cluster.generation = 3;
  s.cluster.spec.image = "cairn:0.2.0";
  Decision changed = reconcile(s);
  ASSERT_EQ(changed.events.size(), 1u);
  EXPECT_EQ(changed.events[0].reason, "ChangeHeld");
  EXPECT_NE(changed.events[0].message.find("cairn:0.1.0 -> cairn:0.2.0"), std::string::npos)
      << changed.events[0].message;
  EXPECT_FALSE(appliesStatefulSet(changed)) << "the new template waits too";
  s.cluster.status = changed.status;
  EXPECT_TRUE(reconcile(s).events.empty());
}

// A spec.config change alone makes a new pod template (its config-hash annotation); the
// StatefulSet then reports a new update revision and the servers roll as for an image change.
TEST(Reconciler, ConfigurationChangeRollsTheServers) {
  auto templateOf = [](const Decision& d) {
    for (const value& o : d.apply) {
      if (o.at("kind").as_string() == "StatefulSet") return o.at("spec").at("template");
    }
    return value::null();
  };
  auto s = healthy(3, 3);
  value before = templateOf(reconcile(s));
  s.cluster.spec.config = value::parse(R"({"log_level": "DEBUG"})");
  Decision d = reconcile(s);
  value after = templateOf(d);
  ASSERT_FALSE(after.is_null());
  EXPECT_NE(before.serialize(), after.serialize());
  EXPECT_EQ(after.at("metadata").at("annotations").at("cairn.io/config-hash").as_string(),
            configHash(s.cluster.spec));
  // Resources are in the template itself.
  s.cluster.spec.resources = value::parse(R"({"limits": {"memory": "1Gi"}})");
  EXPECT_NE(templateOf(reconcile(s)).serialize(), after.serialize());
  // The StatefulSet has the new revision: a follower restarts first, the leader last.
  s.statefulset->update_revision = "r2";
  Decision step = reconcile(s);
  EXPECT_EQ(step.action.kind, ActionKind::kDeletePod);
  EXPECT_EQ(step.action.target, "c-2");
  for (auto& p : s.pods) p.revision = p.name == "c-0" ? "r1" : "r2";
  EXPECT_EQ(reconcile(s).action.kind, ActionKind::kTransferLeadership);
}

TEST(Reconciler, InvalidSpecAppliesNothingAndSaysWhy) {
  auto s = healthy(3, 3);
  s.cluster.spec_status = invalidArgument("spec.config.data_dir: is set by the operator");
  Decision d = reconcile(s);
  EXPECT_TRUE(d.apply.empty());
  EXPECT_EQ(condition(d, "Degraded", "message"), "spec.config.data_dir: is set by the operator");
  EXPECT_EQ(condition(d, "Available", "status"), "True");  // the servers still serve
}

TEST(Reconciler, StatusReportsTheRaftView) {
  auto s = healthy(3, 3);
  member(s, "c-2")->voter = false;
  member(s, "c-2")->healthy = false;
  s.raft.healthy = false;
  Decision d = reconcile(s);
  const value& st = d.status;
  EXPECT_EQ(st.at("readyServers").as_integer(), 3);  // a learner catching up counts as ready
  EXPECT_EQ(st.at("voters").as_integer(), 2);
  EXPECT_EQ(st.at("servers").as_integer(), 3);
  EXPECT_EQ(st.at("leader").as_string(), "c-0");
  EXPECT_EQ(st.at("lastIndex").as_integer(), 100);
  EXPECT_EQ(st.at("observedGeneration").as_integer(), 2);
  EXPECT_EQ(st.at("selector").as_string(), podSelector("c"));
  ASSERT_EQ(st.at("members").size(), 3u);
  EXPECT_EQ(st.at("members").at(2).at("name").as_string(), "c-2");
  EXPECT_FALSE(st.at("members").at(2).at("voter").as_bool());
  EXPECT_EQ(st.at("version").as_string(), "cairn:0.1.0");
  EXPECT_EQ(condition(d, "Available", "status"), "True");
}

TEST(Reconciler, VersionMovesOnlyWhenTheRolloutIsDone) {
  auto s = healthy(3, 3);
  s.cluster.spec.image = "cairn:0.2.0";
  s.statefulset->image = "cairn:0.2.0";
  s.statefulset->update_revision = "r2";
  s.cluster.status["version"] = value::string("cairn:0.1.0");
  EXPECT_EQ(reconcile(s).status.at("version").as_string(), "cairn:0.1.0");
  for (auto& p : s.pods) p.revision = "r2";
  EXPECT_EQ(reconcile(s).status.at("version").as_string(), "cairn:0.2.0");
}

TEST(Reconciler, ConditionTransitionTimesStayWhileTheStatusDoes) {
  auto s = healthy(3, 3);
  Decision first = reconcile(s);
  s.cluster.status = first.status;
  s.now = "2026-12-07T14:00:00Z";
  Decision again = reconcile(s);
  EXPECT_EQ(condition(again, "Available", "lastTransitionTime"), "2026-12-07T13:00:00Z");
  leader(s, "");
  Decision lost = reconcile(s);
  EXPECT_EQ(condition(lost, "Available", "lastTransitionTime"), "2026-12-07T14:00:00Z");
}

TEST(Reconciler, EvenSizesAreWarnedOncePerGeneration) {
  auto s = healthy(4, 4);
  s.cluster.generation = 3;
  Decision d = reconcile(s);
  ASSERT_EQ(d.events.size(), 1u);
  EXPECT_EQ(d.events[0].reason, "EvenSize");
  EXPECT_TRUE(d.events[0].warning);
  s.cluster.status = d.status;
  EXPECT_TRUE(reconcile(s).events.empty());
}

TEST(Reconciler, RestartedOperatorResumesMidScaleDown) {
  // Level-triggered: the same observed state gives the same next step, whatever came before.
  auto s = healthy(5, 3);
  removeMember(s, "c-4");
  Decision a = reconcile(s), b = reconcile(s);
  EXPECT_EQ(a.action.kind, ActionKind::kScaleStatefulSet);
  EXPECT_EQ(a.action.replicas, b.action.replicas);
  EXPECT_EQ(a.apply.size(), b.apply.size());
}

}  // namespace
}  // namespace cairn::op
