// State images: StateStore::image/restore, the Restore command in apply(), and the format checks.
#include "core/store/state_image.h"

#include <filesystem>

#include "core/base/gzip.h"
#include "core/store/state_store.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::store {
namespace {

using testing::StoreFixture;

class StateImageTest : public StoreFixture {
 protected:
  // Applies a Restore command carrying `image` at the next index.
  TxnOutcome restoreCommand(std::string image) {
    v1::Command cmd;
    cmd.mutable_restore()->set_image(std::move(image));
    LogEntry entry{store_->appliedIndex() + 1, &cmd};
    return store_->apply(std::span(&entry, 1), false).at(0);
  }

  std::vector<KvEntry> all() { return store_->list("").entries; }

  // A state with live keys, a tombstone and flags: a/1 a/2 b (flags 7), deleted: a/gone.
  void populate() {
    ASSERT_TRUE(set("a/1", "one").ok);
    ASSERT_TRUE(set("a/gone", "x").ok);
    ASSERT_TRUE(set("a/2", "two").ok);
    ASSERT_TRUE(set("b", std::string("\0bin\xff", 5), 7).ok);
    ASSERT_TRUE(run({op(v1::KV_DELETE, "a/gone")}).ok);
  }

  // A second store on its own RocksDB (a fresh server).
  struct OtherStore {
    std::filesystem::path dir;
    WatchHub hub;
    std::unique_ptr<storage::RocksDb> db;
    std::unique_ptr<StateStore> store;
    ~OtherStore() {
      store.reset();
      db.reset();
      std::filesystem::remove_all(dir);
    }
  };
  std::unique_ptr<OtherStore> otherStore() {
    auto o = std::make_unique<OtherStore>();
    o->dir = dir_.string() + "-other";
    std::filesystem::remove_all(o->dir);
    auto db = storage::RocksDb::open(o->dir.string());
    EXPECT_TRUE(db.isOk());
    o->db = std::move(*db);
    o->store = std::make_unique<StateStore>(*o->db, o->hub);
    return o;
  }
};

v1::StateImage validImage() {
  v1::StateImage image;
  image.set_format(std::string(kStateImageFormat));
  image.set_version(kStateImageVersion);
  image.set_applied_index(10);
  return image;
}

void addKv(v1::StateImage& image, std::string key, uint64_t index) {
  auto* e = image.add_kv();
  e->set_key(std::move(key));
  e->mutable_entry()->set_create_index(index);
  e->mutable_entry()->set_modify_index(index);
}

TEST_F(StateImageTest, ImageRoundTripsIntoAFreshStore) {
  populate();
  uint64_t index = 0;
  std::string image = store_->image(&index);
  EXPECT_EQ(index, 5u);
  auto other = otherStore();
  ASSERT_TRUE(other->store->restore(image).isOk());
  EXPECT_EQ(other->store->appliedIndex(), 5u);
  EXPECT_EQ(other->store->list("").entries, all());
  EXPECT_EQ(other->store->list("a/").index, 5u) << "the tombstone came along";
  EXPECT_EQ(other->store->get("missing").index, 5u) << "and the table index";
  EXPECT_EQ(other->store->image(), image) << "same state, same image";
}

TEST_F(StateImageTest, ImageOfAFreshStoreIsValidAndEmpty) {
  auto image = parseStateImage(store_->image());
  ASSERT_TRUE(image.isOk()) << image.status().toString();
  EXPECT_EQ(image->applied_index(), 0u);
  EXPECT_EQ(image->kv_size(), 0);
}

TEST_F(StateImageTest, RestoreReplacesEverything) {
  populate();
  std::string image = store_->image();
  ASSERT_TRUE(set("c", "new").ok);
  ASSERT_TRUE(run({op(v1::KV_DELETE, "a/1")}).ok);
  ASSERT_TRUE(set("a/gone", "back").ok);
  ASSERT_TRUE(store_->restore(image).isOk());
  EXPECT_EQ(store_->appliedIndex(), 5u);
  std::vector<std::string> keys;
  for (const auto& e : all()) keys.push_back(e.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"a/1", "a/2", "b"}));
  EXPECT_EQ(store_->get("b").entry.value, std::string("\0bin\xff", 5));
  EXPECT_EQ(store_->get("b").entry.flags, 7u);
  EXPECT_EQ(store_->image(), image);
  reopen();
  EXPECT_EQ(store_->image(), image) << "the restore is durable";
}

TEST_F(StateImageTest, RestoreWakesEveryWatcher) {
  populate();
  std::string image = store_->image();
  int woken = 0;
  hub_.watch({"unrelated", false}, hub_.lastIndex(), [&] { ++woken; });
  hub_.watch({"zz/", true}, hub_.lastIndex(), [&] { ++woken; });
  hub_.watch({"a/1", false}, hub_.lastIndex(), [&] { ++woken; });
  ASSERT_TRUE(store_->restore(image).isOk());
  EXPECT_EQ(woken, 3);
  EXPECT_EQ(hub_.waiting(), 0u);
}

TEST_F(StateImageTest, CorruptImagesAreRejectedAndChangeNothing) {
  populate();
  std::string good = store_->image();
  v1::StateImage wrong_version = validImage();
  wrong_version.set_version(2);
  v1::StateImage unordered = validImage();
  addKv(unordered, "b", 1);
  addKv(unordered, "a", 1);
  v1::StateImage both = validImage();
  addKv(both, "k", 1);
  auto* t = both.add_tombstones();
  t->set_key("k");
  t->set_index(2);
  v1::StateImage future = validImage();
  addKv(future, "k", 11);
  v1::StateImage reserved = validImage();
  reserved.add_table_indexes()->set_name("applied_index");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not a Cairn state image"},
      {"garbage bytes \x01\x02\x03", "not a Cairn state image"},
      {good.substr(0, good.size() - 3), "not a Cairn state image"},
      {wrong_version.SerializeAsString(), "unsupported image version 2"},
      {unordered.SerializeAsString(), "KV keys out of order"},
      {both.SerializeAsString(), "both live and deleted"},
      {future.SerializeAsString(), "above the image's applied index"},
      {reserved.SerializeAsString(), "reserved table index name"},
  };
  for (const auto& [bytes, why] : cases) {
    Status s = store_->restore(bytes);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << why;
    EXPECT_NE(s.message().find("invalid snapshot: "), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(why), std::string::npos) << s.message();
  }
  EXPECT_EQ(store_->image(), good);
}

TEST_F(StateImageTest, RestoreCommandKeepsIndexesMonotonic) {
  populate();
  std::string image = store_->image();  // at index 5
  ASSERT_TRUE(set("c", "later").ok);
  ASSERT_TRUE(set("a/1", "changed").ok);  // index 7
  int woken = 0;
  hub_.watch({"unrelated", false}, hub_.lastIndex(), [&] { ++woken; });
  TxnOutcome outcome = restoreCommand(image);  // index 8
  EXPECT_TRUE(outcome.ok);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(store_->appliedIndex(), 8u) << "the entry's index, not the image's";
  KvGetResult a1 = store_->get("a/1");
  EXPECT_EQ(a1.entry.value, "one");
  EXPECT_EQ(a1.entry.modify_index, 1u) << "entries keep the image's indexes";
  EXPECT_EQ(a1.index, 8u) << "but reads never report below the restore's index";
  EXPECT_FALSE(store_->get("c").found);
  EXPECT_EQ(store_->get("c").index, 8u);
  EXPECT_EQ(store_->list("a/").index, 8u);
  EXPECT_EQ(store_->keys("", "").index, 8u);
  ASSERT_TRUE(set("a/2", "after").ok);  // index 9
  EXPECT_EQ(store_->get("a/2").index, 9u);
  EXPECT_EQ(store_->get("a/1").index, 8u);
  reopen();
  EXPECT_EQ(store_->get("a/1").index, 8u) << "the floor is durable";
  auto other = otherStore();
  ASSERT_TRUE(other->store->restore(store_->image()).isOk());
  EXPECT_EQ(other->store->get("a/1").index, 8u) << "and travels in images";
}

TEST_F(StateImageTest, RestoreCommandWithInvalidImageOnlyAdvancesTheIndex) {
  populate();
  std::string before = store_->image();
  TxnOutcome outcome = restoreCommand("not an image");
  EXPECT_FALSE(outcome.ok);
  ASSERT_EQ(outcome.errors.size(), 1u);
  EXPECT_NE(outcome.errors[0].what.find("invalid snapshot"), std::string::npos);
  EXPECT_EQ(store_->appliedIndex(), 6u);
  v1::StateImage after;
  ASSERT_TRUE(after.ParseFromString(store_->image()));
  v1::StateImage expected;
  ASSERT_TRUE(expected.ParseFromString(before));
  expected.set_applied_index(6);
  EXPECT_EQ(after.SerializeAsString(), expected.SerializeAsString());
}

TEST_F(StateImageTest, RestoreInTheMiddleOfABatch) {
  populate();
  std::string image = store_->image();
  v1::Command before, restore, after;
  before.mutable_txn()->add_ops()->mutable_kv()->CopyFrom(op(v1::KV_SET, "x", "1"));
  restore.mutable_restore()->set_image(image);
  after.mutable_txn()->add_ops()->mutable_kv()->CopyFrom(op(v1::KV_SET, "y", "2"));
  std::vector<LogEntry> entries = {{6, &before}, {7, &restore}, {8, &after}};
  auto outcomes = store_->apply(entries, false);
  ASSERT_EQ(outcomes.size(), 3u);
  EXPECT_TRUE(outcomes[0].ok && outcomes[1].ok && outcomes[2].ok);
  EXPECT_FALSE(store_->get("x").found) << "replaced by the restore";
  EXPECT_EQ(store_->get("y").entry.modify_index, 8u);
  EXPECT_EQ(store_->get("a/1").entry.value, "one");
  EXPECT_EQ(store_->appliedIndex(), 8u);
}

TEST_F(StateImageTest, SnapshotBodiesMayBeGzipOrRaw) {
  populate();
  std::string image = store_->image();
  uint64_t index = 0;
  auto raw = decodeSnapshot(image, &index);
  ASSERT_TRUE(raw.isOk());
  EXPECT_EQ(*raw, image);
  EXPECT_EQ(index, 5u);
  auto zipped = decodeSnapshot(gzipCompress(image));
  ASSERT_TRUE(zipped.isOk()) << zipped.status().toString();
  EXPECT_EQ(*zipped, image);
  std::string gz = gzipCompress(image);
  auto truncated = decodeSnapshot(gz.substr(0, gz.size() - 4));
  EXPECT_EQ(truncated.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(truncated.status().message().find("gzip"), std::string::npos);
  std::string flipped = gz;
  flipped[flipped.size() / 2] ^= 0x55;
  EXPECT_FALSE(decodeSnapshot(flipped).isOk());
  EXPECT_FALSE(decodeSnapshot(gz + "trailing").isOk());
}

TEST(Gzip, RoundTripAndSizeLimit) {
  std::string data(300000, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  std::string gz = gzipCompress(data);
  EXPECT_TRUE(isGzip(gz));
  EXPECT_LT(gz.size(), data.size());
  auto back = gzipDecompress(gz, data.size());
  ASSERT_TRUE(back.isOk());
  EXPECT_EQ(*back, data);
  EXPECT_EQ(gzipDecompress(gz, data.size() - 1).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(gzipDecompress("plain", 100).status().code(), StatusCode::kInvalidArgument);
  auto empty = gzipDecompress(gzipCompress(""), 0);
  ASSERT_TRUE(empty.isOk());
  EXPECT_EQ(*empty, "");
}

}  // namespace
}  // namespace cairn::store
