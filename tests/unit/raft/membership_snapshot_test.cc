// Membership changes (learners, promotion, removal, one at a time) and snapshots (compaction,
// chunked InstallSnapshot).

#include <gtest/gtest.h>

#include "core/raft/conf_change.h"
#include "core/raft/describe.h"
#include "tests/unit/raft/test_cluster.h"

namespace cairn::raft {
namespace {

using testing::TestCluster;

ConfChange change(v1::ConfChangeType type, uint64_t id) {
  ConfChange cc;
  cc.set_type(type);
  cc.set_node_id(id);
  return cc;
}

TEST(ConfChangeRules, SingleServerChanges) {
  ConfState cs;
  cs.add_voters(1);
  auto added = applyConfChange(cs, change(v1::CONF_CHANGE_ADD_LEARNER, 2));
  ASSERT_TRUE(added.isOk());
  EXPECT_EQ(added->learners_size(), 1);
  auto promoted = applyConfChange(*added, change(v1::CONF_CHANGE_ADD_VOTER, 2));
  ASSERT_TRUE(promoted.isOk());
  EXPECT_EQ(promoted->voters_size(), 2);
  EXPECT_EQ(promoted->learners_size(), 0);
  EXPECT_FALSE(applyConfChange(cs, change(v1::CONF_CHANGE_REMOVE_NODE, 1)).isOk());  // last voter
  EXPECT_FALSE(applyConfChange(cs, change(v1::CONF_CHANGE_ADD_VOTER, 1)).isOk());    // no-op
}

TEST(Membership, LearnerReplicatesButDoesNotVote) {
  TestCluster c(3, {}, 1);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 4)).isOk());
  c.deliver();
  c.tickAll(3);
  EXPECT_EQ(c.raft(4).log().lastIndex(), c.raft(1).log().lastIndex());
  EXPECT_TRUE(c.raft(4).tracker().learners().count(4));
  EXPECT_FALSE(c.raft(4).promotable());
  EXPECT_EQ(c.raft(1).tracker().quorum(), 2u);  // still 3 voters
}

TEST(Membership, OneChangeAtATime) {
  TestCluster c(3, {}, 2);
  ASSERT_TRUE(c.elect(1));
  c.cut(2);
  c.cut(3);
  ASSERT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 4)).isOk());
  auto second = c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 5));
  EXPECT_FALSE(second.isOk());
  // The first change took effect when appended, before it commits (thesis §4.1).
  EXPECT_TRUE(c.raft(1).tracker().learners().count(4));
  c.restore(2);
  c.restore(3);
  c.tickAll(3);
  EXPECT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 5)).isOk());
}

TEST(Membership, PromotionWaitsForCatchUp) {
  TestCluster c(3, {}, 1);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 4)).isOk());
  c.cut(4);
  c.deliver();
  for (int i = 0; i < 5; ++i) c.propose(1, "x");
  c.deliver();
  EXPECT_FALSE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_VOTER, 4)).isOk());
  c.restore(4);
  c.tickAll(3);
  ASSERT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_VOTER, 4)).isOk());
  c.deliver();
  EXPECT_EQ(c.raft(1).tracker().voters().size(), 4u);
  EXPECT_TRUE(c.raft(4).promotable());
}

TEST(Membership, AutoPromoteLearner) {
  TestCluster c(
      3, [](Config& cfg) { cfg.auto_promote_learners = true; }, 1);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 4)).isOk());
  c.tickAll(6);
  EXPECT_TRUE(c.raft(1).tracker().isVoter(4));
}

TEST(Membership, RemovedLeaderStepsDownOnceRemovalCommits) {
  TestCluster c(3);
  ASSERT_TRUE(c.elect(1));
  ASSERT_TRUE(c.node(1).proposeConfChange(change(v1::CONF_CHANGE_REMOVE_NODE, 1)).isOk());
  c.deliver();
  EXPECT_EQ(c.raft(1).state(), StateType::kFollower);
  EXPECT_FALSE(c.raft(1).promotable());
  c.tickAll(30);
  bool leader = c.raft(2).state() == StateType::kLeader || c.raft(3).state() == StateType::kLeader;
  EXPECT_TRUE(leader);
  EXPECT_EQ(c.raft(2).tracker().voters().size(), 2u);
}

TEST(Membership, ConfigRevertsWhenItsEntryIsTruncated) {
  TestCluster c(3, {}, 1);
  ASSERT_TRUE(c.elect(1));
  auto id = c.node(1).proposeConfChange(change(v1::CONF_CHANGE_ADD_LEARNER, 4));
  ASSERT_TRUE(id.isOk());
  c.flush();
  for (const Message& m : c.queue()) {
    if (m.to() == 2 && m.type() == v1::MSG_APP) {
      ASSERT_TRUE(c.node(2).step(m).isOk());
    }
  }
  c.queue().clear();
  c.flush();
  c.queue().clear();
  ASSERT_TRUE(c.raft(2).tracker().learners().count(4));
  // A leader of a later term overwrites the uncommitted change on node 2.
  Message m;
  m.set_type(v1::MSG_APP);
  m.set_from(3);
  m.set_to(2);
  m.set_term(id->term + 1);
  m.set_index(id->index - 1);
  m.set_log_term(*c.raft(2).log().term(id->index - 1));
  Entry* e = m.add_entries();
  e->set_index(id->index);
  e->set_term(id->term + 1);
  e->set_type(v1::ENTRY_EMPTY);
  ASSERT_TRUE(c.node(2).step(m).isOk());
  EXPECT_FALSE(c.raft(2).tracker().learners().count(4));
  EXPECT_EQ(c.raft(2).lastConfIndex(), 0u);
}

TEST(Snapshot, LaggingFollowerCatchesUpByChunkedSnapshot) {
  TestCluster c(3, [](Config& cfg) { cfg.snapshot_chunk_bytes = 8; });
  ASSERT_TRUE(c.elect(1));
  c.cut(3);
  for (int i = 0; i < 10; ++i) c.propose(1, "v" + std::to_string(i));
  c.deliver();
  uint64_t applied = c.applied(1).back().index();
  ASSERT_TRUE(c.storage(1)
                  .createSnapshot(applied, c.raft(1).tracker().confState(),
                                  "0123456789abcdefghijklmnopqrstuvwxyz")
                  .isOk());
  ASSERT_TRUE(c.storage(1).compact(applied).isOk());
  c.restore(3);
  c.delivered().clear();
  c.tickAll(5);
  EXPECT_GE(c.countDelivered(v1::MSG_SNAP), 5u);  // 36 bytes in 8-byte chunks
  EXPECT_EQ(c.storage(3).snapshot()->data(), "0123456789abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(c.raft(3).log().committed(), c.raft(1).log().committed());
  EXPECT_EQ(c.raft(1).tracker().all().at(3).state, ProgressState::kReplicate);
  c.propose(1, "after");
  c.deliver();
  EXPECT_EQ(c.applied(3).back().data(), "after");
}

TEST(Snapshot, TransferRestartsWhenTheFollowerRestartsMidway) {
  TestCluster c(3, [](Config& cfg) { cfg.snapshot_chunk_bytes = 4; });
  ASSERT_TRUE(c.elect(1));
  c.cut(3);
  for (int i = 0; i < 5; ++i) c.propose(1, "v");
  c.deliver();
  uint64_t applied = c.applied(1).back().index();
  ASSERT_TRUE(c.storage(1)
                  .createSnapshot(applied, c.raft(1).tracker().confState(), "abcdefghijklmnop")
                  .isOk());
  ASSERT_TRUE(c.storage(1).compact(applied).isOk());
  c.restore(3);
  int snaps = 0;
  c.dropIf([&snaps](const Message& m) {
    return m.type() == v1::MSG_SNAP && ++snaps == 2;  // lose the second chunk once
  });
  c.tickAll(3);
  c.start(3);  // restart: the chunks received so far are gone
  c.tickAll(15);
  EXPECT_EQ(c.storage(3).snapshot()->data(), "abcdefghijklmnop");
  EXPECT_EQ(c.raft(3).log().committed(), c.raft(1).log().committed());
}

TEST(DescribeTest, ConfChangesReadAsPastTenseVerbs) {
  EXPECT_STREQ(confChangeVerb(v1::CONF_CHANGE_ADD_LEARNER), "added learner");
  EXPECT_STREQ(confChangeVerb(v1::CONF_CHANGE_ADD_VOTER), "added voter");
  EXPECT_STREQ(confChangeVerb(v1::CONF_CHANGE_REMOVE_NODE), "removed");
}

}  // namespace
}  // namespace cairn::raft
