// LivenessTracker: heartbeats, silence, leaves and leader changes → the actions the leader
// proposes. Pure: time is passed in.
#include "core/membership/liveness_tracker.h"

#include <gtest/gtest.h>

namespace cairn::membership {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kWall = 1'700'000'000'000;  // an arbitrary wall-clock time, ms

v1::ClientMember member(const std::string& name, const std::string& build = "0.1.0") {
  v1::ClientMember m;
  m.set_node_name(name);
  m.set_node_id("id-" + name);
  m.set_address("127.0.0.5");
  m.set_http_port(8500);
  m.set_build(build);
  return m;
}

MemberView view(const v1::ClientMember& m, v1::MemberStatus status, bool registered = true,
                const std::string& serf = "passing", int64_t since_ms = kWall) {
  MemberView v;
  *v.record.mutable_member() = m;
  v.record.set_status(status);
  v.record.set_status_since_unix_ms(since_ms);
  v.node_registered = registered;
  v.serf_health = serf;
  return v;
}

Action alive(const v1::ClientMember& m) { return {ActionKind::kMarkAlive, m.node_name(), m}; }
Action failed(const v1::ClientMember& m) { return {ActionKind::kMarkFailed, m.node_name(), m}; }
Action reap(const v1::ClientMember& m) { return {ActionKind::kReap, m.node_name(), m}; }

class LivenessTrackerTest : public ::testing::Test {
 protected:
  SteadyTime at(std::chrono::milliseconds d) const { return t0_ + d; }
  LivenessTracker tracker_{LivenessOptions{10s, 72h}};
  SteadyTime t0_{std::chrono::seconds(5000)};
};

TEST_F(LivenessTrackerTest, HeartbeatOfUnknownMemberMarksItAlive) {
  tracker_.startLeading(at(0ms));
  auto a = member("a");
  ASSERT_TRUE(tracker_.onHeartbeat(a, "inc1", at(1s)));
  EXPECT_EQ(tracker_.evaluate(at(1s), kWall, {}), std::vector<Action>{alive(a)});
  // Once the replicated state says so, nothing more to do.
  EXPECT_TRUE(tracker_.evaluate(at(2s), kWall, {view(a, v1::MEMBER_ALIVE)}).empty());
}

TEST_F(LivenessTrackerTest, AliveRecordNeedsNodeAndPassingSerfHealth) {
  tracker_.startLeading(at(0ms));
  auto a = member("a");
  tracker_.onHeartbeat(a, "inc1", at(1s));
  struct Case {
    MemberView v;
    bool acts;
  } cases[] = {
      {view(a, v1::MEMBER_ALIVE, true, "passing"), false},
      {view(a, v1::MEMBER_ALIVE, false, "passing"), true},   // node deregistered by someone
      {view(a, v1::MEMBER_ALIVE, true, "critical"), true},   // serfHealth left critical
      {view(a, v1::MEMBER_ALIVE, true, ""), true},           // serfHealth missing
      {view(a, v1::MEMBER_FAILED, true, "critical"), true},  // came back
      {view(a, v1::MEMBER_LEFT, false, ""), true},           // restarted after a leave
      {view(member("a", "0.2.0"), v1::MEMBER_ALIVE), true},  // upgraded: new build tag
  };
  for (const auto& c : cases) {
    auto actions = tracker_.evaluate(at(2s), kWall, {c.v});
    EXPECT_EQ(actions.empty(), !c.acts) << c.v.record.ShortDebugString();
    if (c.acts) {
      EXPECT_EQ(actions, std::vector<Action>{alive(a)});
    }
  }
}

TEST_F(LivenessTrackerTest, SilenceBeyondTimeoutFailsTheMember) {
  tracker_.startLeading(at(0ms));
  auto a = member("a");
  tracker_.onHeartbeat(a, "inc1", at(1s));
  std::vector<MemberView> state = {view(a, v1::MEMBER_ALIVE)};
  EXPECT_TRUE(tracker_.evaluate(at(11s), kWall, state).empty());  // exactly the timeout
  EXPECT_EQ(tracker_.evaluate(at(11s + 1ms), kWall, state), std::vector<Action>{failed(a)});
  // Failed in the replicated state: nothing more until it comes back.
  state = {view(a, v1::MEMBER_FAILED, true, "critical")};
  EXPECT_TRUE(tracker_.evaluate(at(20s), kWall, state).empty());
  tracker_.onHeartbeat(a, "inc1", at(21s));
  EXPECT_EQ(tracker_.evaluate(at(21s), kWall, state), std::vector<Action>{alive(a)});
}

TEST_F(LivenessTrackerTest, RegularHeartbeatsKeepItAlive) {
  tracker_.startLeading(at(0ms));
  auto a = member("a");
  std::vector<MemberView> state = {view(a, v1::MEMBER_ALIVE)};
  for (auto t = 1s; t < 60s; t += 2s) {
    tracker_.onHeartbeat(a, "inc1", at(t));
    EXPECT_TRUE(tracker_.evaluate(at(t + 1s), kWall, state).empty()) << t.count();
  }
}

TEST_F(LivenessTrackerTest, NewLeaderGrantsAGracePeriod) {
  auto a = member("a"), b = member("b");
  std::vector<MemberView> state = {view(a, v1::MEMBER_ALIVE), view(b, v1::MEMBER_ALIVE)};
  tracker_.startLeading(at(100s));
  EXPECT_TRUE(tracker_.evaluate(at(105s), kWall, state).empty());
  tracker_.onHeartbeat(a, "inc-a", at(106s));  // a found the new leader; b did not
  EXPECT_TRUE(tracker_.evaluate(at(110s), kWall, state).empty());
  EXPECT_EQ(tracker_.evaluate(at(110s + 1ms), kWall, state), std::vector<Action>{failed(b)});
}

TEST_F(LivenessTrackerTest, FollowersAndFormerLeadersDoNothing) {
  auto a = member("a");
  EXPECT_FALSE(tracker_.onHeartbeat(a, "inc1", at(1s)));
  EXPECT_TRUE(tracker_.evaluate(at(100s), kWall, {view(a, v1::MEMBER_ALIVE)}).empty());
  tracker_.startLeading(at(0ms));
  tracker_.onHeartbeat(a, "inc1", at(1s));
  tracker_.stopLeading();
  EXPECT_EQ(tracker_.tracked(), 0u);
  EXPECT_TRUE(tracker_.evaluate(at(100s), kWall, {view(a, v1::MEMBER_ALIVE)}).empty());
}

TEST_F(LivenessTrackerTest, LateHeartbeatOfALeftIncarnationIsIgnored) {
  tracker_.startLeading(at(0ms));
  auto a = member("a");
  tracker_.onHeartbeat(a, "inc1", at(1s));
  tracker_.onLeave("a", "inc1", at(2s));
  EXPECT_FALSE(tracker_.onHeartbeat(a, "inc1", at(3s)));
  std::vector<MemberView> state = {view(a, v1::MEMBER_LEFT, false, "")};
  EXPECT_TRUE(tracker_.evaluate(at(3s), kWall, state).empty());
  // The agent restarted: a new incarnation is welcome.
  EXPECT_TRUE(tracker_.onHeartbeat(a, "inc2", at(4s)));
  EXPECT_EQ(tracker_.evaluate(at(4s), kWall, state), std::vector<Action>{alive(a)});
}

TEST_F(LivenessTrackerTest, LeftAndFailedRecordsAreReapedAfter72Hours) {
  tracker_.startLeading(at(0ms));
  auto a = member("a"), b = member("b"), c = member("c");
  int64_t h72 = 72LL * 3600 * 1000;
  std::vector<MemberView> state = {view(a, v1::MEMBER_LEFT, false, "", kWall - h72 - 1),
                                   view(b, v1::MEMBER_FAILED, true, "critical", kWall - h72 - 1),
                                   view(c, v1::MEMBER_FAILED, true, "critical", kWall - h72 + 1)};
  EXPECT_EQ(tracker_.evaluate(at(1s), kWall, state), (std::vector<Action>{reap(a), reap(b)}));
}

TEST_F(LivenessTrackerTest, NamesMatchCaseInsensitively) {
  tracker_.startLeading(at(0ms));
  auto a = member("Web-1");
  tracker_.onHeartbeat(a, "inc1", at(1s));
  v1::ClientMember as_stored = a;  // the record keeps the spelling; the lookup ignores case
  MemberView v = view(as_stored, v1::MEMBER_ALIVE);
  v.record.mutable_member()->set_node_name("Web-1");
  EXPECT_TRUE(tracker_.evaluate(at(2s), kWall, {v}).empty());
  tracker_.onLeave("WEB-1", "", at(3s));
  EXPECT_EQ(tracker_.tracked(), 0u);
}

}  // namespace
}  // namespace cairn::membership
