// Replication: batching, pipelining with a bounded window, probe/replicate, fast backtracking,
// the commit rule, the early-message contract.

#include <gtest/gtest.h>

#include "tests/unit/raft/test_cluster.h"

namespace cairn::raft {
namespace {

using testing::TestCluster;

TEST(Replication, CommitsAndAppliesOnAllNodes) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  uint64_t idx = c.propose(1, "hello");
  c.deliver();
  for (uint64_t id = 1; id <= 3; ++id) {
    EXPECT_GE(c.raft(id).log().committed(), idx);
    ASSERT_FALSE(c.applied(id).empty());
    EXPECT_EQ(c.applied(id).back().data(), "hello");
  }
}

TEST(Replication, GroupCommitBatchesProposalsIntoFewMessages) {
  TestCluster c(3, [](Config& cfg) { cfg.max_entries_per_msg = 4; });
  ASSERT_TRUE(c.elect(1));
  c.delivered().clear();
  for (int i = 0; i < 10; ++i) c.propose(1, "p" + std::to_string(i));
  c.flush();
  // 10 entries, 4 per message: 3 messages per follower, all sent at once (pipelined).
  size_t apps = 0;
  for (const Message& m : c.queue()) {
    if (m.type() != v1::MSG_APP) continue;
    ++apps;
    EXPECT_LE(m.entries_size(), 4);
  }
  EXPECT_EQ(apps, 6u);
  c.deliver();
  EXPECT_EQ(c.applied(2).back().data(), "p9");
}

TEST(Replication, ByteLimitSplitsMessages) {
  TestCluster c(3, [](Config& cfg) { cfg.max_size_per_msg = 100; });
  ASSERT_TRUE(c.elect(1));
  for (int i = 0; i < 5; ++i) c.propose(1, std::string(60, 'a' + i));
  c.flush();
  for (const Message& m : c.queue()) {
    if (m.type() == v1::MSG_APP) {
      EXPECT_EQ(m.entries_size(), 1);
    }
  }
}

TEST(Replication, InflightWindowBoundsPipelining) {
  TestCluster c(2, [](Config& cfg) {
    cfg.max_entries_per_msg = 1;
    cfg.max_inflight_msgs = 3;
  });
  ASSERT_TRUE(c.elect(1));
  for (int i = 0; i < 10; ++i) c.propose(1, "x");
  c.flush();
  size_t apps = 0;
  for (const Message& m : c.queue()) apps += m.type() == v1::MSG_APP;
  EXPECT_EQ(apps, 3u);  // the window, not the 10 entries
  const Progress& pr = c.raft(1).tracker().all().at(2);
  EXPECT_EQ(pr.state, ProgressState::kReplicate);
  EXPECT_TRUE(pr.inflights.full());
  c.deliver();  // acknowledgements open the window until everything is replicated
  EXPECT_EQ(c.raft(2).log().lastIndex(), c.raft(1).log().lastIndex());
}

TEST(Replication, ProbeStateSendsOneAppendAtATime) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.cut(3);
  for (int i = 0; i < 5; ++i) c.propose(1, "x");
  c.deliver();
  c.restore(3);
  // After a rejection the leader probes node 3: while the probe is outstanding it is paused.
  const Progress& pr = c.raft(1).tracker().all().at(3);
  EXPECT_NE(pr.state, ProgressState::kSnapshot);
  c.tickAll(3);
  EXPECT_EQ(c.raft(3).log().lastIndex(), c.raft(1).log().lastIndex());
  EXPECT_EQ(c.raft(1).tracker().all().at(3).state, ProgressState::kReplicate);
}

TEST(Replication, FastBacktrackingSkipsDivergentTerms) {
  // Node 3 leads alone for a while, piling up entries of its own term that never commit.
  TestCluster c(3, [](Config& cfg) {
    cfg.check_quorum = false;
    cfg.lease_ticks = 0;
  });
  ASSERT_TRUE(c.elect(3));
  c.cut(1);
  c.cut(2);
  for (int i = 0; i < 50; ++i) c.propose(3, "stale");
  c.deliver();
  c.restore(1);
  c.restore(2);
  c.cut(3);
  ASSERT_TRUE(c.elect(1));
  c.propose(1, "fresh");
  c.deliver();
  c.restore(3);
  c.delivered().clear();
  c.tickAll(3);
  // One rejection round trip skips the whole divergent term instead of 50.
  size_t rejects = 0;
  for (const Message& m : c.delivered()) rejects += m.type() == v1::MSG_APP_RESP && m.reject();
  EXPECT_LE(rejects, 3u);
  EXPECT_EQ(c.raft(3).log().lastIndex(), c.raft(1).log().lastIndex());
  EXPECT_EQ(c.applied(3).back().data(), "fresh");
}

TEST(Replication, LeaderCountsItselfOnlyWhenDurable) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  c.cut(2);
  c.cut(3);
  uint64_t idx = c.propose(1, "x");
  Ready rd = c.node(1).ready();
  // The appends may leave before the leader's fsync (thesis §10.2.1).
  ASSERT_FALSE(rd.entries.empty());
  EXPECT_FALSE(rd.early_messages.empty());
  for (const Message& m : rd.early_messages) {
    EXPECT_EQ(m.type(), v1::MSG_APP);
  }
  c.node(1).advance(rd);
  EXPECT_LT(c.raft(1).log().committed(), idx);  // only one durable copy (ours) of three
}

TEST(Replication, FollowerMajorityCommitsBeforeLeaderFsync) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  uint64_t idx = c.propose(1, "x");
  Ready rd = c.node(1).ready();  // the leader's fsync is "in progress"
  for (const Message& m : rd.early_messages) ASSERT_TRUE(c.node(m.to()).step(m).isOk());
  c.flush();  // followers persist and acknowledge
  for (const Message& m : c.queue()) {
    if (m.to() == 1) {
      ASSERT_TRUE(c.node(1).step(m).isOk());
    }
  }
  c.queue().clear();
  EXPECT_GE(c.raft(1).log().committed(), idx);  // two durable follower copies are a majority
  c.node(1).advance(rd);
}

TEST(Replication, StaleLeaderStepsDownOnHigherTermResponse) {
  TestCluster c(3, [](Config& cfg) {
    cfg.check_quorum = false;
    cfg.lease_ticks = 0;
  });
  ASSERT_TRUE(c.elect(1));
  c.cut(1);
  ASSERT_TRUE(c.elect(2));
  c.restore(1);
  c.propose(1, "lost");  // still thinks it leads (until check-quorum)
  c.deliver();
  EXPECT_EQ(c.raft(1).state(), StateType::kFollower);
  EXPECT_EQ(c.raft(1).term(), c.raft(2).term());
  for (const Entry& e : c.applied(1)) EXPECT_NE(e.data(), "lost");
}

}  // namespace
}  // namespace cairn::raft
