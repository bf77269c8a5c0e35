// ReadIndex (batched rounds, follower reads), the leader lease, leadership transfer.

#include <gtest/gtest.h>

#include "tests/unit/raft/test_cluster.h"

namespace cairn::raft {
namespace {

using testing::TestCluster;

TEST(ReadIndex, OneHeartbeatRoundServesManyReads) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.delivered().clear();
  ASSERT_TRUE(c.node(1).readIndex("a").isOk());
  ASSERT_TRUE(c.node(1).readIndex("b").isOk());
  ASSERT_TRUE(c.node(1).readIndex("c").isOk());
  c.deliver();
  ASSERT_EQ(c.readStates(1).size(), 3u);
  for (const ReadState& rs : c.readStates(1)) EXPECT_EQ(rs.index, c.raft(1).log().committed());
  // "a" started a round; "b" and "c" waited for the next one, which they shared.
  EXPECT_LE(c.countDelivered(v1::MSG_HEARTBEAT), 4u);
}

TEST(ReadIndex, WaitsForANewLeaderToCommitInItsTerm) {
  TestCluster c(3);
  // 1 wins the election but its no-op does not reach anyone.
  c.dropIf([](const Message& m) { return m.type() == v1::MSG_APP; });
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.node(1).readIndex("early").isOk());
  c.deliver();
  EXPECT_TRUE(c.readStates(1).empty());
  c.dropIf({});
  c.tickAll(2);
  ASSERT_EQ(c.readStates(1).size(), 1u);
  EXPECT_GE(c.readStates(1)[0].index, 1u);
}

TEST(ReadIndex, FollowerReadGoesThroughTheLeader) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.propose(1, "x");
  c.deliver();
  ASSERT_TRUE(c.node(2).readIndex("f").isOk());
  c.deliver();
  ASSERT_EQ(c.readStates(2).size(), 1u);
  EXPECT_EQ(c.readStates(2)[0].context, "f");
  EXPECT_EQ(c.readStates(2)[0].index, c.raft(1).log().committed());
}

TEST(ReadIndex, NoAnswerWithoutAQuorum) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.cut(2);
  c.cut(3);
  ASSERT_TRUE(c.node(1).readIndex("x").isOk());
  c.deliver();
  EXPECT_TRUE(c.readStates(1).empty());
}

TEST(Lease, ValidOnlyWhileAQuorumAcknowledgedRecently) {
  TestCluster c(3, [](Config& cfg) { cfg.lease_ticks = 5; });
  uint64_t l = c.settle();
  ASSERT_NE(l, 0u);
  EXPECT_FALSE(c.node(l).leaseReadIndex().has_value());  // no heartbeat acknowledged yet
  c.tickAll(1);
  ASSERT_TRUE(c.node(l).leaseReadIndex().has_value());
  EXPECT_EQ(*c.node(l).leaseReadIndex(), c.raft(l).log().committed());
  for (uint64_t id = 1; id <= 3; ++id) {
    if (id != l) c.cut(id);
  }
  for (int i = 0; i < 4; ++i) c.tickAll(1);
  EXPECT_TRUE(c.node(l).leaseReadIndex().has_value());
  c.tickAll(1);  // 5 ticks since the last acknowledged heartbeat left
  EXPECT_FALSE(c.node(l).leaseReadIndex().has_value());
  EXPECT_FALSE(c.node(l % 3 + 1).leaseReadIndex().has_value());  // followers hold no lease
}

TEST(Lease, RestartedFollowerWaitsOutTheLeaseBeforeVoting) {
  TestCluster c(3, [](Config& cfg) {
    cfg.lease_ticks = 5;
    cfg.pre_vote = false;
  });
  uint64_t l = c.settle();
  ASSERT_NE(l, 0u);
  uint64_t f = l % 3 + 1, other = f % 3 + 1;
  if (other == l) other = other % 3 + 1;
  c.start(f);  // restarted: forgets who leads, but must not help depose it yet
  Message m;
  m.set_type(v1::MSG_VOTE);
  m.set_from(other);
  m.set_to(f);
  m.set_term(c.raft(l).term() + 1);
  m.set_index(100);
  m.set_log_term(c.raft(l).term());
  ASSERT_TRUE(c.node(f).step(m).isOk());
  EXPECT_EQ(c.raft(f).term(), c.raft(l).term());
}

TEST(Lease, DisabledByConfigAndVoidDuringTransfer) {
  TestCluster off(3, [](Config& cfg) { cfg.lease_ticks = 0; });
  ASSERT_TRUE(off.elect(1));
  off.tickAll(2);
  EXPECT_FALSE(off.node(1).leaseReadIndex().has_value());

  TestCluster c(3, [](Config& cfg) { cfg.lease_ticks = 5; });
  uint64_t l = c.settle();
  ASSERT_NE(l, 0u);
  c.tickAll(1);
  ASSERT_TRUE(c.node(l).leaseReadIndex().has_value());
  uint64_t to = l % 3 + 1;
  c.cut(to);
  ASSERT_TRUE(c.node(l).transferLeadership(to).isOk());
  EXPECT_FALSE(c.node(l).leaseReadIndex().has_value());
}

TEST(Transfer, ToAnUpToDateFollower) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  uint64_t term = c.raft(1).term();
  ASSERT_TRUE(c.node(1).transferLeadership(2).isOk());
  c.deliver();
  EXPECT_EQ(c.raft(2).state(), StateType::kLeader);
  EXPECT_EQ(c.raft(2).term(), term + 1);
  EXPECT_EQ(c.raft(1).state(), StateType::kFollower);
}

TEST(Transfer, ToALaggingFollowerCatchesItUpFirst) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.cut(3);
  for (int i = 0; i < 5; ++i) c.propose(1, "x");
  c.deliver();
  c.restore(3);
  ASSERT_TRUE(c.node(1).transferLeadership(3).isOk());
  EXPECT_FALSE(c.node(1).propose("blocked").isOk());  // proposals pause during a transfer
  c.tickAll(3);
  EXPECT_EQ(c.raft(3).state(), StateType::kLeader);
  EXPECT_EQ(c.raft(3).log().committed(), c.raft(3).log().lastIndex());
}

TEST(Transfer, AbortedAfterAnElectionTimeout) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.cut(3);
  ASSERT_TRUE(c.node(1).transferLeadership(3).isOk());
  c.tickAll(12);
  EXPECT_EQ(c.raft(1).state(), StateType::kLeader);
  EXPECT_EQ(c.raft(1).leadTransferee(), kNone);
  EXPECT_TRUE(c.node(1).propose("ok").isOk());
}

}  // namespace
}  // namespace cairn::raft
