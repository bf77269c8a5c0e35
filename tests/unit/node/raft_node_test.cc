// RaftNode end to end in one process (harness in raft_node_harness.h).
#include "core/node/raft_node.h"

#include "tests/unit/node/raft_node_harness.h"

namespace cairn::node {
namespace {

using namespace std::chrono_literals;
using namespace nodetest;

TEST_F(RaftNodeTest, ElectsOneLeaderThatEveryServerKnows) {
  int l = leader();
  ASSERT_GE(l, 0);
  for (auto& s : servers_) {
    EXPECT_TRUE(eventually(
        [&] { return s->node->leaderStatus().leader_address == servers_[l]->info.address(); }));
    EXPECT_EQ(s->node->leaderStatus().voters.size(), 3u);
  }
}

TEST_F(RaftNodeTest, WritesOnLeaderAndFollowersApplyEverywhere) {
  int l = leader();
  ASSERT_GE(l, 0);
  for (int i = 0; i < 3; ++i) {
    auto r = proposeAndWait(*servers_[i]->node, setCommand("k" + std::to_string(i), "v"));
    ASSERT_TRUE(r.isOk()) << r.status().message();
    EXPECT_TRUE(r->outcome.ok);
    EXPECT_GT(r->index, 1u);
  }
  for (auto& s : servers_) {
    EXPECT_TRUE(eventually([&] { return s->state->get("k2").found; }));
    EXPECT_EQ(s->state->get("k0").entry.value, "v");
  }
}

TEST_F(RaftNodeTest, ConsistentReadOnFollowerSeesTheLatestWrite) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  ASSERT_TRUE(proposeAndWait(*servers_[l]->node, setCommand("x", "1")).isOk());
  ASSERT_TRUE(barrier(*servers_[f]->node, ReadMode::kConsistent).isOk());
  EXPECT_EQ(servers_[f]->state->get("x").entry.value, "1");
  ASSERT_TRUE(barrier(*servers_[l]->node, ReadMode::kDefault).isOk());
  EXPECT_TRUE(barrier(*servers_[f]->node, ReadMode::kStale).isOk());
}

TEST_F(RaftNodeTest, NewLeaderAfterTheLeaderStopsAndNoWriteIsLost) {
  int l = leader();
  ASSERT_GE(l, 0);
  ASSERT_TRUE(proposeAndWait(*servers_[l]->node, setCommand("before", "1")).isOk());
  servers_[l]->stop();
  int n = leader();
  ASSERT_GE(n, 0);
  ASSERT_NE(n, l);
  auto r = proposeAndWait(*servers_[(n + 1) % 3 == l ? (n + 2) % 3 : (n + 1) % 3]->node,
                          setCommand("after", "2"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(servers_[n]->state->get("before").entry.value, "1");
}

TEST_F(RaftNodeTest, MinorityWithoutLeaderAnswersNoClusterLeader) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  std::set<std::string> others;
  for (int i = 0; i < 3; ++i) {
    if (i != f) others.insert(servers_[i]->info.address());
  }
  servers_[f]->transport->setBlockedPeers(others);
  ASSERT_TRUE(eventually([&] { return !servers_[f]->node->leaderStatus().known_leader; }));
  auto r = proposeAndWait(*servers_[f]->node, setCommand("lost", "1"));
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "No cluster leader");
  EXPECT_EQ(barrier(*servers_[f]->node, ReadMode::kConsistent).message(), "No cluster leader");
  servers_[f]->transport->setBlockedPeers({});
  EXPECT_TRUE(eventually([&] { return servers_[f]->node->leaderStatus().known_leader; }));
  EXPECT_FALSE(servers_[l]->state->get("lost").found);
}

TEST_F(RaftNodeTest, TransferLeadershipAndRemovePeer) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  auto transferred = std::make_shared<std::promise<Status>>();
  servers_[l]->node->transferLeadership(servers_[f]->info.node_id(),
                                        [transferred](Status s) { transferred->set_value(s); });
  ASSERT_TRUE(transferred->get_future().get().isOk());
  ASSERT_TRUE(eventually([&] {
    return servers_[f]->node->leaderStatus().leader_address == servers_[f]->info.address();
  }));
  auto removed = std::make_shared<std::promise<Status>>();
  servers_[f]->node->removePeer(servers_[l]->info.address(),
                                [removed](Status s) { removed->set_value(s); });
  Status s = removed->get_future().get();
  ASSERT_TRUE(s.isOk()) << s.message();
  EXPECT_EQ(servers_[f]->node->raftConfiguration().servers.size(), 2u);
  EXPECT_TRUE(proposeAndWait(*servers_[f]->node, setCommand("two", "1")).isOk());
}

TEST_F(RaftNodeTest, RestartedServerCatchesUpFromItsLogStore) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  writeWhileDown(f, l, "k", 20);
  EXPECT_TRUE(eventually([&] { return servers_[f]->state->get("k19").found; }));
  EXPECT_TRUE(eventually(
      [&] { return servers_[f]->state->appliedIndex() == servers_[l]->state->appliedIndex(); }));
}

TEST_F(RaftNodeTest, LaggingServerCatchesUpThroughASnapshot) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  // Enough writes for the leader to snapshot and compact past what the stopped server has.
  writeWhileDown(f, l, "s", 120);
  ASSERT_GT(servers_[l]->log->firstIndex(), 10u) << "the leader should have compacted its log";
  EXPECT_TRUE(eventually([&] { return servers_[f]->state->get("s119").found; }));
  EXPECT_EQ(servers_[f]->state->get("s0").entry.value, "v");
  ASSERT_TRUE(proposeAndWait(*servers_[f]->node, setCommand("after", "1")).isOk());
}

// A server restarted after applying a membership change that its latest snapshot predates must
// record that change in its next snapshot: once the change's entry is compacted away, that
// snapshot is the only record of the membership (the long fault test once lost a cluster so).
TEST_F(RaftNodeTest, SnapshotsAfterARestartKeepTheMembershipAppliedBeforeIt) {
  int l = leader();
  ASSERT_GE(l, 0);
  writeKeys(l, "a", 45);  // every server snapshots, with three voters
  int gone = (l + 1) % 3;
  auto removed = std::make_shared<std::promise<Status>>();
  servers_[l]->node->removePeer(servers_[gone]->info.address(),
                                [removed](Status s) { removed->set_value(s); });
  ASSERT_TRUE(removed->get_future().get().isOk());
  servers_[gone]->stop();
  std::vector<int> kept;
  for (int i = 0; i < 3; ++i) {
    if (i != gone) kept.push_back(i);
  }
  for (int i : kept) {
    ASSERT_TRUE(
        eventually([&] { return servers_[i]->node->raftConfiguration().servers.size() == 2; }));
  }
  uint64_t removal_index = servers_[l]->node->raftConfiguration().index;
  for (int i : kept) restart(i);  // applied past the removal, latest snapshot before it
  l = leader();
  ASSERT_GE(l, 0);
  writeKeys(l, "b", 90);  // new snapshots, and the removal's entry is compacted
  for (int i : kept) {
    ASSERT_TRUE(eventually([&] { return servers_[i]->state->get("b89").found; }));
    ASSERT_TRUE(eventually([&] { return servers_[i]->log->firstIndex() > removal_index; }))
        << "server " << i << " should have compacted the removal's entry";
    auto snap = servers_[i]->log->snapshot();
    EXPECT_EQ(snap->metadata().conf_state().voters_size(), 2) << "server " << i;
  }
  for (int i : kept) restart(i);
  ASSERT_GE(leader(), 0);
  for (int i : kept) {
    auto conf = servers_[i]->node->raftConfiguration();
    ASSERT_EQ(conf.servers.size(), 2u) << "server " << i;
    for (const auto& server : conf.servers) EXPECT_FALSE(server.address.empty());
  }
}

// The log store syncs a leader's snapshot before the state store installs it: a crash between
// the two leaves the state behind a snapshot whose entries are gone. Start-up must install it.
TEST_F(RaftNodeTest, StateBehindTheLogSnapshotIsRestoredAtStartUp) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  std::string dir = servers_[f]->dir;
  servers_[f]->keep_dir = true;
  servers_[f].reset();
  writeKeys(l, "s", 60);
  auto snap = servers_[l]->log->snapshot();
  ASSERT_TRUE(snap.isOk());
  ASSERT_GE(snap->metadata().index(), 40u);
  {
    auto db = std::move(storage::RocksDb::open(dir).value());
    auto log = std::move(storage::RocksDbLogStore::open(*db).value());
    // ...and the process died here
    ASSERT_TRUE(log->persist(*snap, {}, std::nullopt, /*sync=*/true).isOk());
  }
  servers_[f] = std::make_unique<Server>(net_, f, voters_, dir);
  EXPECT_GE(servers_[f]->state->appliedIndex(), snap->metadata().index());
  EXPECT_EQ(servers_[f]->state->get("s0").entry.value, "v");
  EXPECT_TRUE(eventually([&] { return servers_[f]->state->get("s59").found; }));
}

// A leader whose node stopped while its transport still takes calls refuses forwarded writes (not
// appended), so the follower sends the write again to the next leader instead of waiting forever.
TEST_F(RaftNodeTest, WriteForwardedToAStoppingLeaderGoesToTheNextOne) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  servers_[l]->node->stop();
  auto done = std::make_shared<std::promise<StatusOr<ProposeResult>>>();
  servers_[f]->node->propose(setCommand("after-stop", "1"),
                             [done](StatusOr<ProposeResult> r) { done->set_value(std::move(r)); });
  auto answer = done->get_future();
  ASSERT_EQ(answer.wait_for(10s), std::future_status::ready) << "the write was never answered";
  auto r = answer.get();
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(eventually([&] { return servers_[f]->state->get("after-stop").found; }));
}

TEST_F(RaftNodeTest, OperatorRequestsToAStoppedNodeAreAnsweredShuttingDown) {
  int l = leader();
  ASSERT_GE(l, 0);
  RaftNode& node = *servers_[l]->node;
  node.stop();
  auto transfer = std::make_shared<std::promise<Status>>();
  node.transferLeadership("", [transfer](Status s) { transfer->set_value(s); });
  auto remove = std::make_shared<std::promise<Status>>();
  node.removePeer(servers_[(l + 1) % 3]->info.address(),
                  [remove](Status s) { remove->set_value(s); });
  for (auto* p : {transfer.get(), remove.get()}) {
    auto f = p->get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    EXPECT_EQ(f.get().message(), "agent is shutting down");
  }
}

}  // namespace
}  // namespace cairn::node
