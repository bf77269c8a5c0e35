// RocksDbLogStore: raft::Storage answers, the persist/saveSnapshot contract, recovery on reopen,
// and a randomized comparison against raft::MemoryStorage.

#include "core/storage/rocksdb_log_store.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <rocksdb/transaction_log.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "core/raft/memory_storage.h"
#include "tests/unit/storage/full_disk_env.h"

namespace cairn::storage {
namespace {

using google::protobuf::util::MessageDifferencer;
using raft::Entry;
using raft::HardState;
using raft::Snapshot;

Entry ent(uint64_t index, uint64_t term, std::string data = "") {
  Entry e;
  e.set_index(index);
  e.set_term(term);
  e.set_type(v1::ENTRY_NORMAL);
  e.set_data(std::move(data));
  return e;
}

// Entries first..last, all of `term`, each with `data_bytes` bytes of data.
std::vector<Entry> ents(uint64_t first, uint64_t last, uint64_t term, size_t data_bytes = 0) {
  std::vector<Entry> out;
  for (uint64_t i = first; i <= last; ++i)
    out.push_back(ent(i, term, std::string(data_bytes, 'x')));
  return out;
}

HardState hs(uint64_t term, uint64_t vote, uint64_t commit) {
  HardState h;
  h.set_term(term);
  h.set_vote(vote);
  h.set_commit(commit);
  return h;
}

Snapshot snap(uint64_t index, uint64_t term, std::vector<uint64_t> voters = {},
              std::string data = "") {
  Snapshot s;
  s.mutable_metadata()->set_index(index);
  s.mutable_metadata()->set_term(term);
  for (uint64_t v : voters) s.mutable_metadata()->mutable_conf_state()->add_voters(v);
  s.set_data(std::move(data));
  return s;
}

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cairn-logstore-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    if (!std::getenv("CAIRN_KEEP_TMP")) std::filesystem::remove_all(dir_);
  }
  // Closes and reopens the database and the store (a clean restart).
  void reopen() {
    store_.reset();
    db_.reset();
    auto db = RocksDb::open(dir_, disk_.env.get());
    ASSERT_TRUE(db.isOk()) << db.status().toString();
    db_ = std::move(*db);
    auto store = RocksDbLogStore::open(*db_);
    ASSERT_TRUE(store.isOk()) << store.status().toString();
    store_ = std::move(*store);
  }
  std::vector<Entry> all() const {
    if (store_->lastIndex() < store_->firstIndex()) return {};
    return store_->entries(store_->firstIndex(), store_->lastIndex() + 1, UINT64_MAX);
  }
  std::vector<uint64_t> termsOf(const std::vector<Entry>& es) const {
    std::vector<uint64_t> out;
    for (const Entry& e : es) out.push_back(e.term());
    return out;
  }

  testing::FullDiskEnv disk_;  // declared first: destroyed after the database
  std::string dir_;
  std::unique_ptr<RocksDb> db_;
  std::unique_ptr<RocksDbLogStore> store_;
};

TEST_F(LogStoreTest, EmptyStore) {
  EXPECT_EQ(store_->firstIndex(), 1u);
  EXPECT_EQ(store_->lastIndex(), 0u);
  EXPECT_EQ(store_->term(0), 0u);
  EXPECT_FALSE(store_->term(1).has_value());
  EXPECT_FALSE(store_->hasState());
  raft::InitialState init = store_->initialState();
  EXPECT_TRUE(raft::isEmptyHardState(init.hard_state));
  EXPECT_EQ(init.conf_state.voters_size(), 0);
  auto s = store_->snapshot();
  ASSERT_TRUE(s.isOk());
  EXPECT_EQ(s->metadata().index(), 0u);
  EXPECT_TRUE(s->data().empty());
}

TEST_F(LogStoreTest, AppendReadTermFirstLast) {
  ASSERT_TRUE(store_
                  ->persist(std::nullopt, {ent(1, 1, "a"), ent(2, 1, "b"), ent(3, 2, "c")},
                            std::nullopt, true)
                  .isOk());
  EXPECT_TRUE(store_->hasState());
  EXPECT_EQ(store_->firstIndex(), 1u);
  EXPECT_EQ(store_->lastIndex(), 3u);
  EXPECT_EQ(store_->term(0), 0u);
  EXPECT_EQ(store_->term(2), 1u);
  EXPECT_EQ(store_->term(3), 2u);
  EXPECT_FALSE(store_->term(4).has_value());
  auto got = store_->entries(2, 4, UINT64_MAX);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(MessageDifferencer::Equals(got[0], ent(2, 1, "b")));
  EXPECT_TRUE(MessageDifferencer::Equals(got[1], ent(3, 2, "c")));
  ASSERT_TRUE(store_->persist(std::nullopt, {ent(4, 2, "d")}, std::nullopt, false).isOk());
  EXPECT_EQ(store_->lastIndex(), 4u);
  EXPECT_EQ(all().back().data(), "d");
}

TEST_F(LogStoreTest, TruncatesConflictingSuffix) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 5, 1), std::nullopt, true).isOk());
  ASSERT_TRUE(store_->persist(std::nullopt, {ent(3, 2), ent(4, 2)}, std::nullopt, true).isOk());
  EXPECT_EQ(store_->lastIndex(), 4u);
  EXPECT_FALSE(store_->term(5).has_value());
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{1, 1, 2, 2}));
  reopen();  // the dropped entry 5 must not come back
  EXPECT_EQ(store_->lastIndex(), 4u);
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{1, 1, 2, 2}));
  // Rewriting a longer suffix replaces in place.
  ASSERT_TRUE(store_->persist(std::nullopt, ents(2, 6, 3), std::nullopt, true).isOk());
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{1, 3, 3, 3, 3, 3}));
}

TEST_F(LogStoreTest, PersistIsOneWalBatch) {
  rocksdb::SequenceNumber before = db_->db()->GetLatestSequenceNumber();
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 3, 1, 10), hs(1, 2, 1), true).isOk());
  std::unique_ptr<rocksdb::TransactionLogIterator> it;
  ASSERT_TRUE(db_->db()->GetUpdatesSince(before + 1, &it).ok());
  int batches = 0;
  for (; it->Valid(); it->Next()) {
    ++batches;
    EXPECT_EQ(it->GetBatch().writeBatchPtr->Count(), 4u);  // 3 entries + the hard state
  }
  EXPECT_EQ(batches, 1);
  reopen();
  EXPECT_TRUE(raft::hardStateEqual(store_->initialState().hard_state, hs(1, 2, 1)));
  EXPECT_EQ(store_->lastIndex(), 3u);
}

TEST_F(LogStoreTest, ReopenRecoversEverything) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 20, 2, 5), hs(2, 1, 15), true).isOk());
  ASSERT_TRUE(store_->saveSnapshot(snap(15, 2, {1, 2, 3}, "image"), 5).isOk());
  ASSERT_TRUE(store_->persist(std::nullopt, {ent(21, 3, "z")}, hs(3, 3, 18), false).isOk());
  ASSERT_TRUE(store_->setStable("cluster_id", "abc").isOk());
  reopen();
  EXPECT_TRUE(store_->hasState());
  EXPECT_EQ(store_->firstIndex(), 11u);
  EXPECT_EQ(store_->lastIndex(), 21u);
  EXPECT_EQ(store_->term(10), 2u);
  EXPECT_FALSE(store_->term(9).has_value());
  EXPECT_EQ(store_->term(21), 3u);
  EXPECT_EQ(all().back().data(), "z");
  raft::InitialState init = store_->initialState();
  EXPECT_TRUE(raft::hardStateEqual(init.hard_state, hs(3, 3, 18)));
  EXPECT_EQ(init.conf_state.voters_size(), 3);
  auto s = store_->snapshot();
  ASSERT_TRUE(s.isOk());
  EXPECT_TRUE(MessageDifferencer::Equals(*s, snap(15, 2, {1, 2, 3}, "image")));
  EXPECT_EQ(store_->stable("cluster_id"), "abc");
  EXPECT_FALSE(store_->stable("raft_id").has_value());
}

TEST_F(LogStoreTest, StableValuesAloneAreNotRaftState) {
  EXPECT_FALSE(store_->stable("node_id").has_value());
  ASSERT_TRUE(store_->setStable("node_id", "n1").isOk());
  ASSERT_TRUE(store_->setStable("node_id", "n2").isOk());
  reopen();
  EXPECT_EQ(store_->stable("node_id"), "n2");
  EXPECT_FALSE(store_->hasState());
}

TEST_F(LogStoreTest, SnapshotReplacesTheLog) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 10, 1), hs(1, 1, 5), true).isOk());
  ASSERT_TRUE(
      store_->persist(snap(20, 3, {1}, "img20"), ents(21, 22, 3), hs(3, 0, 20), true).isOk());
  EXPECT_EQ(store_->firstIndex(), 21u);
  EXPECT_EQ(store_->lastIndex(), 22u);
  EXPECT_EQ(store_->term(20), 3u);
  EXPECT_FALSE(store_->term(10).has_value());
  reopen();
  EXPECT_EQ(store_->firstIndex(), 21u);
  EXPECT_EQ(store_->lastIndex(), 22u);
  EXPECT_EQ(store_->snapshot()->data(), "img20");
  // A snapshot inside the log still replaces all of it.
  ASSERT_TRUE(store_->persist(snap(21, 3, {1}, "img21"), {}, std::nullopt, true).isOk());
  EXPECT_EQ(store_->firstIndex(), 22u);
  EXPECT_EQ(store_->lastIndex(), 21u);
  // An older snapshot is ignored; entries in the same call still apply.
  ASSERT_TRUE(store_->persist(snap(5, 1, {}, "old"), {ent(22, 4)}, std::nullopt, true).isOk());
  EXPECT_EQ(store_->snapshot()->metadata().index(), 21u);
  EXPECT_EQ(store_->lastIndex(), 22u);
  reopen();
  EXPECT_EQ(store_->firstIndex(), 22u);
  EXPECT_EQ(store_->term(22), 4u);
  EXPECT_EQ(store_->snapshot()->data(), "img21");
}

TEST_F(LogStoreTest, SaveSnapshotCompactsKeepingRetain) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 100, 1), std::nullopt, true).isOk());
  ASSERT_TRUE(store_->saveSnapshot(snap(50, 1, {1}, "s50"), 10).isOk());
  EXPECT_EQ(store_->firstIndex(), 41u);
  EXPECT_EQ(store_->term(40), 1u);
  EXPECT_FALSE(store_->term(39).has_value());
  EXPECT_EQ(store_->snapshot()->data(), "s50");
  // Retaining more than was compacted before compacts nothing more.
  ASSERT_TRUE(store_->saveSnapshot(snap(60, 1, {1}, "s60"), 30).isOk());
  EXPECT_EQ(store_->firstIndex(), 41u);
  EXPECT_EQ(store_->snapshot()->data(), "s60");
  // A stale snapshot is ignored.
  ASSERT_TRUE(store_->saveSnapshot(snap(55, 1, {1}, "s55"), 0).isOk());
  EXPECT_EQ(store_->snapshot()->data(), "s60");
  // retain 0 compacts up to the snapshot itself.
  ASSERT_TRUE(store_->saveSnapshot(snap(100, 1, {1}, "s100"), 0).isOk());
  EXPECT_EQ(store_->firstIndex(), 101u);
  EXPECT_EQ(store_->lastIndex(), 100u);
  EXPECT_EQ(store_->term(100), 1u);
  reopen();
  EXPECT_EQ(store_->firstIndex(), 101u);
  EXPECT_EQ(store_->lastIndex(), 100u);
  EXPECT_EQ(store_->term(100), 1u);
  ASSERT_TRUE(store_->persist(std::nullopt, {ent(101, 2)}, std::nullopt, true).isOk());
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{2}));
}

TEST_F(LogStoreTest, SaveSnapshotRetainBeyondIndexKeepsEverything) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 5, 1), std::nullopt, true).isOk());
  ASSERT_TRUE(store_->saveSnapshot(snap(3, 1, {}, "s3"), 10).isOk());
  EXPECT_EQ(store_->firstIndex(), 1u);
  EXPECT_EQ(store_->lastIndex(), 5u);
  EXPECT_EQ(store_->snapshot()->metadata().index(), 3u);
}

TEST_F(LogStoreTest, BootstrapSnapshotAtIndexZero) {
  ASSERT_FALSE(store_->hasState());
  ASSERT_TRUE(store_->persist(snap(0, 0, {1, 2, 3}), {}, std::nullopt, true).isOk());
  EXPECT_TRUE(store_->hasState());
  EXPECT_EQ(store_->firstIndex(), 1u);
  EXPECT_EQ(store_->lastIndex(), 0u);
  EXPECT_EQ(store_->term(0), 0u);
  reopen();
  EXPECT_TRUE(store_->hasState());
  EXPECT_EQ(store_->initialState().conf_state.voters_size(), 3);
  EXPECT_EQ(store_->lastIndex(), 0u);
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 2, 1), hs(1, 1, 0), true).isOk());
  EXPECT_EQ(store_->lastIndex(), 2u);
}

TEST_F(LogStoreTest, EntriesSizeLimit) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 10, 1, 100), std::nullopt, true).isOk());
  uint64_t one = raft::entrySize(ent(1, 1, std::string(100, 'x')));
  EXPECT_EQ(store_->entries(1, 11, 0).size(), 1u);  // always at least one
  EXPECT_EQ(store_->entries(1, 11, one).size(), 1u);
  EXPECT_EQ(store_->entries(1, 11, 3 * one).size(), 3u);
  EXPECT_EQ(store_->entries(1, 11, 3 * one + 1).size(), 3u);
  EXPECT_EQ(store_->entries(4, 11, UINT64_MAX).size(), 7u);
  EXPECT_EQ(store_->entries(4, 6, UINT64_MAX).size(), 2u);
}

TEST_F(LogStoreTest, OpensDatabaseWithoutRaftFamilies) {
  store_.reset();
  db_.reset();
  std::filesystem::remove_all(dir_);
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {{rocksdb::kDefaultColumnFamilyName, {}},
                                                        {kMetaFamily, {}},
                                                        {kKvFamily, {}},
                                                        {kTombstoneFamily, {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_, cfs, &handles, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), handles[1], "applied_index", "x").ok());
    for (auto* h : handles) ASSERT_TRUE(raw->DestroyColumnFamilyHandle(h).ok());
    delete raw;
  }
  reopen();
  std::string value;
  ASSERT_TRUE(db_->db()
                  ->Get(rocksdb::ReadOptions(), db_->family(kMetaFamily), "applied_index", &value)
                  .ok());
  EXPECT_EQ(value, "x");
  EXPECT_FALSE(store_->hasState());
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 1, 1), std::nullopt, true).isOk());
  reopen();
  EXPECT_EQ(store_->lastIndex(), 1u);
}

TEST_F(LogStoreTest, RecoveryRefusesACorruptLog) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 3, 1), std::nullopt, true).isOk());
  rocksdb::ColumnFamilyHandle* log = db_->family(kRaftLogFamily);
  ASSERT_TRUE(db_->db()->Put({}, log, encodeU64(5), ent(5, 1).SerializeAsString()).ok());
  EXPECT_FALSE(RocksDbLogStore::open(*db_).isOk());  // gap at 4
  ASSERT_TRUE(db_->db()->Put({}, log, encodeU64(4), "not a proto \xff\xff").ok());
  EXPECT_FALSE(RocksDbLogStore::open(*db_).isOk());
  ASSERT_TRUE(db_->db()->Put({}, log, encodeU64(4), ent(7, 1).SerializeAsString()).ok());
  EXPECT_FALSE(RocksDbLogStore::open(*db_).isOk());  // index disagrees with the key
  ASSERT_TRUE(db_->db()->Put({}, log, encodeU64(4), ent(4, 1).SerializeAsString()).ok());
  auto reopened = RocksDbLogStore::open(*db_);
  ASSERT_TRUE(reopened.isOk());
  EXPECT_EQ((*reopened)->lastIndex(), 5u);
}

// The watermark (watermark.h): a log, term/vote or commit recovered behind what had been durable
// is refused on open; legitimate shrinking (a truncated suffix, a failed write after the watermark
// was lowered) is not.
class WatermarkTest : public LogStoreTest {
 protected:
  std::string path() const { return dir_ + "/RAFT-WATERMARK"; }
  StatusOr<std::unique_ptr<RocksDbLogStore>> openChecked() {
    store_.reset();
    return RocksDbLogStore::open(*db_, path());
  }
  void useChecked() {
    auto opened = openChecked();
    ASSERT_TRUE(opened.isOk()) << opened.status().message();
    store_ = std::move(*opened);
  }
};

TEST_F(WatermarkTest, RefusesALogThatLostDurableEntries) {
  useChecked();
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 5, 1), hs(1, 1, 3), true).isOk());
  useChecked();  // intact: opens
  EXPECT_EQ(store_->lastIndex(), 5u);
  rocksdb::ColumnFamilyHandle* log = db_->family(kRaftLogFamily);
  ASSERT_TRUE(
      db_->db()->DeleteRange({}, log, encodeU64(4), encodeU64(6)).ok());  // the WAL "lost" them
  auto opened = openChecked();
  ASSERT_FALSE(opened.isOk());
  EXPECT_NE(opened.status().message().find("data dir damaged: the Raft log ends at index 3, but "
                                           "entries up to index 5 had been durable"),
            std::string::npos)
      << opened.status().message();
}

TEST_F(WatermarkTest, RefusesAVoteOrCommitThatWentBackAndLostState) {
  useChecked();
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 3, 1), hs(3, 2, 3), true).isOk());
  raft::HardState older;
  older.set_term(3);
  older.set_vote(1);  // a different vote in the same term: it could vote twice
  older.set_commit(3);
  rocksdb::ColumnFamilyHandle* stable = db_->family(kRaftStableFamily);
  ASSERT_TRUE(db_->db()->Put({}, stable, "hard_state", older.SerializeAsString()).ok());
  auto opened = openChecked();
  ASSERT_FALSE(opened.isOk());
  EXPECT_NE(opened.status().message().find("term/vote went back"), std::string::npos);

  older.set_vote(2);
  older.set_commit(1);
  ASSERT_TRUE(db_->db()->Put({}, stable, "hard_state", older.SerializeAsString()).ok());
  opened = openChecked();
  ASSERT_FALSE(opened.isOk());
  EXPECT_NE(opened.status().message().find("commit index went back"), std::string::npos);

  for (const char* family : {kRaftLogFamily, kRaftStableFamily}) {
    ASSERT_TRUE(
        db_->db()
            ->DeleteRange({}, db_->family(family), "", "\xff\xff\xff\xff\xff\xff\xff\xff\xff")
            .ok());
  }
  opened = openChecked();
  ASSERT_FALSE(opened.isOk());
  EXPECT_NE(opened.status().message().find("the Raft state (log, term and vote) is gone"),
            std::string::npos)
      << opened.status().message();
}

TEST_F(WatermarkTest, AcceptsATruncatedSuffixAndAFailedTruncation) {
  useChecked();
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 5, 1), hs(1, 1, 2), true).isOk());
  // A new leader replaces the uncommitted suffix 3..5 with one entry: the log shrinks to 3.
  ASSERT_TRUE(store_->persist(std::nullopt, {ent(3, 2)}, hs(2, 0, 2), true).isOk());
  useChecked();
  EXPECT_EQ(store_->lastIndex(), 3u);
  // The same again, but the write fails after the watermark was lowered (crash-equivalent): the
  // old, longer log is what a restart finds, and it is not behind the watermark.
  ASSERT_TRUE(store_->persist(std::nullopt, ents(4, 6, 2), std::nullopt, true).isOk());
  disk_.fs->setFull(true);
  ASSERT_FALSE(store_->persist(std::nullopt, {ent(2, 3)}, hs(3, 0, 2), true).isOk());
  disk_.fs->setFull(false);
  store_.reset();
  db_.reset();
  reopen();
  useChecked();
  EXPECT_EQ(store_->lastIndex(), 6u);
  // A snapshot that replaces the whole log.
  ASSERT_TRUE(store_->persist(snap(4, 2, {1}, "img"), {}, hs(3, 0, 4), true).isOk());
  useChecked();
  EXPECT_EQ(store_->lastIndex(), 4u);
}

TEST(WatermarkEncoding, RoundTripsAndRejectsTornText) {
  WatermarkValues v{12, 3, 10, 4, 2};
  std::string text = encodeWatermark(v);
  EXPECT_EQ(decodeWatermark(text), v);
  std::string torn = text;
  torn[30] = torn[30] == '1' ? '2' : '1';
  EXPECT_FALSE(decodeWatermark(torn).has_value());
  EXPECT_FALSE(decodeWatermark(text.substr(0, 40)).has_value());
  EXPECT_FALSE(decodeWatermark("").has_value());
}

// Disk full: every kind of write fails with "disk full", changes nothing (neither what the store
// answers nor what a restart finds), and works again by itself once the disk has room.
TEST_F(LogStoreTest, FullDiskFailsWritesWithoutChangingAnythingAndRecovers) {
  ASSERT_TRUE(store_->persist(std::nullopt, ents(1, 5, 1), hs(1, 1, 3), true).isOk());
  disk_.fs->setFull(true);
  Status s = store_->persist(std::nullopt, {ent(4, 2), ent(5, 2), ent(6, 2)}, hs(2, 2, 4), true);
  ASSERT_FALSE(s.isOk());
  EXPECT_NE(s.message().find("disk full"), std::string::npos) << s.message();
  EXPECT_TRUE(db_->health().view().diskFull());
  EXPECT_EQ(store_->lastIndex(), 5u);
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{1, 1, 1, 1, 1}));
  EXPECT_EQ(store_->initialState().hard_state.term(), 1u);
  EXPECT_FALSE(store_->saveSnapshot(snap(3, 1, {1}, "s3"), 0).isOk());
  EXPECT_EQ(store_->firstIndex(), 1u);
  EXPECT_FALSE(store_->setStable("cluster_id", "x").isOk());
  EXPECT_FALSE(store_->persist(std::nullopt, {}, hs(1, 1, 5), true).isOk());  // sync only
  EXPECT_EQ(store_->initialState().hard_state.commit(), 3u);

  disk_.fs->setFull(false);
  // RocksDB may be resuming by itself in the background (it retries some errors): the write
  // succeeds once that is done, as the node's retries find.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (
      !store_->persist(std::nullopt, {ent(4, 2), ent(5, 2), ent(6, 2)}, hs(2, 2, 4), true).isOk()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "writes did not resume";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(db_->health().view().healthy());
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{1, 1, 1, 2, 2, 2}));
  reopen();
  EXPECT_EQ(termsOf(all()), (std::vector<uint64_t>{1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(store_->initialState().hard_state.term(), 2u);
  EXPECT_FALSE(store_->stable("cluster_id").has_value());
}

// Drives RocksDbLogStore and MemoryStorage through the same random operations (including
// restarts) and compares every raft::Storage answer after each one.
class LogStoreModelTest : public LogStoreTest, public ::testing::WithParamInterface<uint32_t> {
 protected:
  void step() {
    int op = std::uniform_int_distribution<int>(0, 99)(rng_);
    if (op < 55) {
      persistRandom(/*with_snapshot=*/false);
    } else if (op < 65) {
      persistRandom(/*with_snapshot=*/true);
    } else if (op < 87) {
      saveSnapshotRandom();
    } else if (op < 93) {
      reopen();
    } else {
      auto h = hs(pick(0, 9), pick(0, 3), pick(0, model_.lastIndex()));
      ASSERT_TRUE(store_->persist(std::nullopt, {}, h, pick(0, 3) == 0).isOk());
      model_.setHardState(h);
    }
  }

  void persistRandom(bool with_snapshot) {
    std::optional<Snapshot> s;
    if (with_snapshot) {
      uint64_t base = model_.snapshot()->metadata().index();
      uint64_t index = pick(base > 2 ? base - 2 : 0, model_.lastIndex() + 5);
      s = snap(index, pick(0, 9), {pick(1, 5)}, "d" + std::to_string(index));
      model_.applySnapshot(*s);
    }
    uint64_t first = model_.firstIndex();
    // Mostly plain appends, sometimes overwriting a suffix or starting below the log.
    uint64_t start = pick(0, 9) < 7 ? model_.lastIndex() + 1
                                    : pick(first > 3 ? first - 3 : 1, model_.lastIndex() + 1);
    std::vector<Entry> es;
    uint64_t n = pick(0, 6);
    for (uint64_t i = 0; i < n; ++i) {
      es.push_back(
          ent(start + i, pick(1, 9), std::string(pick(0, 40), static_cast<char>('a' + i % 26))));
    }
    std::optional<HardState> h;
    if (coin()) h = hs(pick(0, 9), pick(0, 3), pick(0, 20));
    model_.append(es);
    if (h) model_.setHardState(*h);
    ASSERT_TRUE(store_->persist(s, es, h, pick(0, 3) == 0).isOk());
  }

  void saveSnapshotRandom() {
    uint64_t base = model_.snapshot()->metadata().index();
    uint64_t lo = std::max(base, model_.firstIndex() - 1);
    if (lo > model_.lastIndex()) return;
    uint64_t index = pick(lo, model_.lastIndex());
    uint64_t retain = pick(0, 6);
    raft::ConfState cs;
    cs.add_voters(pick(1, 5));
    std::string data = "s" + std::to_string(index);
    if (index > base) {
      ASSERT_TRUE(model_.createSnapshot(index, cs, data).isOk());
      if (index > retain && index - retain >= model_.firstIndex()) {
        ASSERT_TRUE(model_.compact(index - retain).isOk());
      }
    }
    Snapshot s;
    *s.mutable_metadata()->mutable_conf_state() = cs;
    s.mutable_metadata()->set_index(index);
    s.mutable_metadata()->set_term(*model_.term(index));
    s.set_data(data);
    ASSERT_TRUE(store_->saveSnapshot(s, retain).isOk());
  }

  void compare() {
    ASSERT_EQ(store_->firstIndex(), model_.firstIndex());
    ASSERT_EQ(store_->lastIndex(), model_.lastIndex());
    uint64_t first = model_.firstIndex();
    for (uint64_t i = first > 3 ? first - 3 : 0; i <= model_.lastIndex() + 2; ++i) {
      ASSERT_EQ(store_->term(i), model_.term(i)) << "term(" << i << ")";
    }
    raft::InitialState a = store_->initialState();
    raft::InitialState b = model_.initialState();
    ASSERT_TRUE(raft::hardStateEqual(a.hard_state, b.hard_state));
    ASSERT_TRUE(MessageDifferencer::Equals(a.conf_state, b.conf_state));
    ASSERT_TRUE(MessageDifferencer::Equivalent(*store_->snapshot(), *model_.snapshot()))
        << store_->snapshot()->ShortDebugString() << " vs "
        << model_.snapshot()->ShortDebugString();
    for (int k = 0; k < 3 && model_.lastIndex() >= first; ++k) {
      uint64_t lo = pick(first, model_.lastIndex());
      uint64_t hi = pick(lo + 1, model_.lastIndex() + 1);
      uint64_t max_bytes = coin() ? UINT64_MAX : pick(0, 200);
      auto got = store_->entries(lo, hi, max_bytes);
      auto want = model_.entries(lo, hi, max_bytes);
      ASSERT_EQ(got.size(), want.size());
      for (size_t j = 0; j < got.size(); ++j) {
        ASSERT_TRUE(MessageDifferencer::Equals(got[j], want[j])) << "entry " << got[j].index();
      }
    }
  }

  uint64_t pick(uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }
  bool coin() { return pick(0, 1) == 1; }

  std::mt19937_64 rng_{GetParam()};
  raft::MemoryStorage model_;
};

TEST_P(LogStoreModelTest, MatchesMemoryStorage) {
  for (int i = 0; i < 300; ++i) {
    ASSERT_NO_FATAL_FAILURE(step()) << "seed " << GetParam() << " step " << i;
    ASSERT_NO_FATAL_FAILURE(compare()) << "seed " << GetParam() << " step " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Seeds, LogStoreModelTest, ::testing::Range<uint32_t>(1, 9));

}  // namespace
}  // namespace cairn::storage
