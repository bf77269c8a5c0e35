// RaftNode on a disk that fills up (storage/full_disk_env.h): it stays up, refuses writes with
// "disk full", acknowledges nothing it could not persist, and resumes by itself.
#include <rocksdb/db.h>

#include "core/node/raft_node.h"
#include "tests/unit/node/raft_node_harness.h"
#include "tests/unit/storage/full_disk_env.h"

namespace cairn::node {
namespace {

using namespace std::chrono_literals;
using namespace nodetest;

bool mentionsDiskFull(const Status& s) {
  return s.message().find("disk full") != std::string::npos;
}

// The highest index in the raft_log family: what the server has written (and, on this file
// system, durably: a write to a full disk fails).
uint64_t writtenLastIndex(storage::RocksDb& db) {
  std::unique_ptr<rocksdb::Iterator> it(
      db.db()->NewIterator(rocksdb::ReadOptions(), db.family(storage::kRaftLogFamily)));
  it->SeekToLast();
  return it->Valid() ? storage::decodeU64(it->key().ToStringView()) : 0;
}

class FullDiskClusterTest : public RaftNodeTest {
 protected:
  void SetUp() override {
    voters_ = threeVoters("d", 1);
    for (int i = 0; i < 3; ++i) {
      servers_.push_back(std::make_unique<Server>(net_, i, voters_, "", disks_[i].env.get()));
    }
  }
  void TearDown() override { servers_.clear(); }  // before the Envs they use

  storage::testing::FullDiskEnv disks_[3];
};

TEST_F(FullDiskClusterTest, FollowerThatCannotPersistStopsAcknowledgingAndCatchesUp) {
  int l = leader();
  ASSERT_GE(l, 0);
  int f = (l + 1) % 3;
  writeKeys(l, "a", 5);
  ASSERT_TRUE(eventually([&] { return servers_[f]->state->get("a4").found; }));

  disks_[f].fs->setFull(true);
  writeKeys(l, "b", 20);  // the leader and the other follower are a majority
  ASSERT_TRUE(eventually([&] { return !servers_[f]->node->storageFault().isOk(); }));
  EXPECT_TRUE(mentionsDiskFull(servers_[f]->node->storageFault()));
  EXPECT_FALSE(servers_[f]->state->get("b19").found);

  // Never acknowledged beyond what it wrote: the leader's match index for it stays there.
  uint64_t written = writtenLastIndex(*servers_[f]->db);
  for (const auto& s : servers_[l]->node->raftConfiguration().servers) {
    if (s.id == servers_[f]->info.node_id()) {
      EXPECT_LE(s.last_index, written);
    }
  }
  // Autopilot on the leader reports it unhealthy (it stopped answering).
  EXPECT_TRUE(eventually([&] {
    auto h = servers_[l]->node->autopilotHealth();
    if (!h.isOk()) return false;
    for (const auto& s : h->servers) {
      if (s.server.id == servers_[f]->info.node_id()) return !s.healthy;
    }
    return false;
  }));
  // It stays up: writes fail fast with the reason, stale reads work, consistent ones say why not.
  auto refused = proposeAndWait(*servers_[f]->node, setCommand("x", "1"));
  ASSERT_FALSE(refused.isOk());
  EXPECT_TRUE(mentionsDiskFull(refused.status())) << refused.status().message();
  EXPECT_TRUE(barrier(*servers_[f]->node, ReadMode::kStale).isOk());
  Status consistent = barrier(*servers_[f]->node, ReadMode::kConsistent);
  EXPECT_TRUE(mentionsDiskFull(consistent)) << consistent.message();
  EXPECT_EQ(servers_[f]->state->get("a4").entry.value, "v");

  disks_[f].fs->setFull(false);
  EXPECT_TRUE(eventually([&] { return servers_[f]->state->get("b19").found; }));
  EXPECT_TRUE(eventually([&] { return servers_[f]->node->storageFault().isOk(); }));
  EXPECT_TRUE(servers_[f]->db->health().view().healthy());
  EXPECT_TRUE(proposeAndWait(*servers_[f]->node, setCommand("after", "1")).isOk());
  EXPECT_FALSE(servers_[l]->state->get("x").found);
}

TEST(FullDiskSingleServerTest, RefusesWritesKeepsReadingAndResumes) {
  Network net;
  storage::testing::FullDiskEnv disk;
  auto voters = threeVoters("one", 2);
  voters.resize(1);
  auto server = std::make_unique<Server>(net, 0, voters, "", disk.env.get());
  ASSERT_TRUE(eventually([&] { return server->node->isLeader(); }));
  ASSERT_TRUE(proposeAndWait(*server->node, setCommand("k", "before")).isOk());

  disk.fs->setFull(true);
  // The write that meets the full disk reached the log: undecided until space returns.
  auto first = proposeAndWait(*server->node, setCommand("k", "undecided"));
  ASSERT_FALSE(first.isOk());
  EXPECT_TRUE(mentionsDiskFull(first.status())) << first.status().message();
  EXPECT_NE(first.status().message().find("may or may not"), std::string::npos);
  // Later ones are refused before they reach the log.
  auto second = proposeAndWait(*server->node, setCommand("refused", "1"));
  ASSERT_FALSE(second.isOk());
  EXPECT_NE(second.status().message().find("refused, not applied"), std::string::npos)
      << second.status().message();
  for (ReadMode mode : {ReadMode::kStale, ReadMode::kDefault, ReadMode::kConsistent}) {
    EXPECT_TRUE(barrier(*server->node, mode).isOk());
  }
  EXPECT_EQ(server->state->get("k").entry.value, "before");  // nothing half-applied
  EXPECT_TRUE(server->db->health().view().diskFull());

  disk.fs->setFull(false);
  EXPECT_TRUE(eventually([&] { return server->node->storageFault().isOk(); }));
  auto after = proposeAndWait(*server->node, setCommand("k", "after"));
  ASSERT_TRUE(after.isOk()) << after.status().message();
  EXPECT_EQ(server->state->get("k").entry.value, "after");
  EXPECT_FALSE(server->state->get("refused").found);
  EXPECT_TRUE(server->db->health().view().healthy());
  server.reset();
}

}  // namespace
}  // namespace cairn::node
