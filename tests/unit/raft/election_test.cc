// Elections: randomized timeouts, pre-vote, check-quorum, the election restriction.

#include <gtest/gtest.h>

#include "tests/unit/raft/test_cluster.h"

namespace cairn::raft {
namespace {

using testing::TestCluster;

TEST(Election, SingleNodeBecomesLeaderAndCommitsNoop) {
  TestCluster c(1);
  c.tickAll(25);
  EXPECT_EQ(c.raft(1).state(), StateType::kLeader);
  // The no-op of the new term committed (thesis §6.4), after the leader's own fsync.
  EXPECT_EQ(c.raft(1).log().committed(), 1u);
  ASSERT_EQ(c.applied(1).size(), 1u);
  EXPECT_EQ(c.applied(1)[0].type(), v1::ENTRY_EMPTY);
}

TEST(Election, ThreeNodesElectExactlyOneLeaderByTimeout) {
  TestCluster c(3);
  c.tickAll(40);
  int leaders = 0;
  for (uint64_t id = 1; id <= 3; ++id) leaders += c.raft(id).state() == StateType::kLeader;
  EXPECT_EQ(leaders, 1);
  uint64_t term = c.raft(1).term();
  EXPECT_EQ(c.raft(2).term(), term);
  EXPECT_EQ(c.raft(3).term(), term);
}

TEST(Election, RandomizedTimeoutInRange) {
  // A follower never campaigns before election_tick ticks without a leader.
  TestCluster c(3);
  c.tick(1, 9);
  c.flush();
  EXPECT_TRUE(c.queue().empty());
  EXPECT_EQ(c.raft(1).state(), StateType::kFollower);
  c.tick(1, 11);  // by 2 * election_tick it must have started
  EXPECT_NE(c.raft(1).state(), StateType::kFollower);
}

TEST(Election, PreVoteDoesNotInflateTermOfPartitionedNode) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  uint64_t term = c.raft(1).term();
  c.cut(3);
  for (int i = 0; i < 100; ++i) {
    c.tick(3);
    c.deliver();
  }
  EXPECT_EQ(c.raft(3).term(), term);  // pre-vote never succeeded, so no term bump
  c.restore(3);
  c.tickAll(5);
  EXPECT_EQ(c.raft(1).state(), StateType::kLeader);  // the rejoining node did not disrupt
  EXPECT_EQ(c.raft(1).term(), term);
}

TEST(Election, WithoutPreVoteAPartitionedNodeInflatesItsTerm) {
  TestCluster c(3, [](Config& cfg) { cfg.pre_vote = false; });
  ASSERT_TRUE(c.elect(1));
  uint64_t term = c.raft(1).term();
  c.cut(3);
  for (int i = 0; i < 100; ++i) {
    c.tick(3);
    c.deliver();
  }
  EXPECT_GT(c.raft(3).term(), term);
}

TEST(Election, CheckQuorumLeaderStepsDownWhenIsolated) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.cut(1);
  for (int i = 0; i < 25; ++i) {
    c.tick(1);
    c.deliver();
  }
  EXPECT_EQ(c.raft(1).state(), StateType::kFollower);
}

TEST(Election, FollowersInLeaseIgnoreVoteRequests) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  uint64_t term = c.raft(1).term();
  // Node 3 forces an election while 1 and 2 hear from the leader: ignored (thesis §4.2.3).
  Message m;
  m.set_type(v1::MSG_VOTE);
  m.set_from(3);
  m.set_to(2);
  m.set_term(term + 1);
  m.set_index(c.raft(2).log().lastIndex());
  m.set_log_term(c.raft(2).log().lastTerm());
  ASSERT_TRUE(c.node(2).step(m).isOk());
  EXPECT_EQ(c.raft(2).term(), term);
  EXPECT_EQ(c.raft(2).vote(), 1u);
}

TEST(Election, VoteDeniedToCandidateWithStaleLog) {
  TestCluster c(3, [](Config& cfg) {
    cfg.check_quorum = false;
    cfg.pre_vote = false;
    cfg.lease_ticks = 0;
  });
  ASSERT_TRUE(c.elect(1));
  c.cut(3);
  c.propose(1, "x");
  c.deliver();
  c.restore(3);
  // Node 3 lacks "x": 1 and 2 must refuse it (§3.6 election restriction).
  c.node(3).campaign();
  c.deliver();
  EXPECT_NE(c.raft(3).state(), StateType::kLeader);
}

TEST(Election, VoteResponseWaitsForDurability) {
  TestCluster c(3, [](Config& cfg) { cfg.pre_vote = false; });
  c.tick(1, 1);
  c.node(1).campaign();
  c.flush();
  ASSERT_FALSE(c.queue().empty());
  Message vote = c.queue()[0];
  c.queue().clear();
  ASSERT_TRUE(c.node(2).step(vote).isOk());
  Ready rd = c.node(2).ready();
  ASSERT_TRUE(rd.hard_state.has_value());
  EXPECT_EQ(rd.hard_state->vote(), 1u);
  EXPECT_TRUE(rd.must_sync);
  EXPECT_TRUE(rd.early_messages.empty());
  ASSERT_EQ(rd.messages.size(), 1u);
  EXPECT_EQ(rd.messages[0].type(), v1::MSG_VOTE_RESP);
  c.node(2).advance(rd);
}

TEST(Election, VotesAreRememberedAcrossRestart) {
  TestCluster c(3, [](Config& cfg) {
    cfg.pre_vote = false;
    cfg.check_quorum = false;
    cfg.lease_ticks = 0;
  });
  c.node(1).campaign();
  c.flush();
  std::vector<Message> votes = c.queue();
  c.queue().clear();
  ASSERT_TRUE(c.node(2).step(votes[0]).isOk());
  c.flush();
  c.queue().clear();
  c.start(2);  // restart from storage
  EXPECT_EQ(c.raft(2).vote(), 1u);
  // A competing candidate in the same term is refused.
  Message m = votes[0];
  m.set_from(3);
  ASSERT_TRUE(c.node(2).step(m).isOk());
  c.flush();
  ASSERT_EQ(c.queue().size(), 1u);
  EXPECT_TRUE(c.queue()[0].reject());
}

TEST(Election, MalformedMessagesAreRejectedNotFatal) {
  TestCluster c(3);
  Message m;
  m.set_type(v1::MSG_APP);
  m.set_from(2);
  m.set_to(1);
  m.set_term(5);
  m.set_index(3);
  auto* e = m.add_entries();
  e->set_index(7);  // not contiguous with index 3
  e->set_term(5);
  EXPECT_FALSE(c.node(1).step(m).isOk());
  m.set_to(9);
  EXPECT_FALSE(c.node(1).step(m).isOk());
  EXPECT_EQ(c.raft(1).term(), 0u);
}

}  // namespace
}  // namespace cairn::raft
