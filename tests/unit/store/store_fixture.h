#pragma once
// A StateStore on a fresh RocksDB in a temporary directory, with helpers that build commands.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "core/store/state_store.h"

namespace cairn::store::testing {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cairn-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(dir_);
    reopen();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  void reopen() {
    store_.reset();
    db_.reset();
    auto db = storage::RocksDb::open(dir_.string());
    ASSERT_TRUE(db.isOk()) << db.status().toString();
    db_ = std::move(*db);
    store_ = std::make_unique<StateStore>(*db_, hub_);
  }

  static v1::KvOp op(v1::KvVerb verb, std::string key, std::string value = "", uint64_t index = 0,
                     uint64_t flags = 0) {
    v1::KvOp o;
    o.set_verb(verb);
    o.set_key(std::move(key));
    o.set_value(std::move(value));
    o.set_index(index);
    o.set_flags(flags);
    return o;
  }
  // Applies one txn made of `ops` at the next index.
  TxnOutcome run(std::vector<v1::KvOp> ops) {
    v1::Command cmd;
    for (auto& o : ops) *cmd.mutable_txn()->add_ops()->mutable_kv() = std::move(o);
    LogEntry entry{store_->appliedIndex() + 1, &cmd};
    return store_->apply(std::span(&entry, 1), false).at(0);
  }
  TxnOutcome set(std::string key, std::string value, uint64_t flags = 0) {
    return run({op(v1::KV_SET, std::move(key), std::move(value), 0, flags)});
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  WatchHub hub_;
  std::unique_ptr<storage::RocksDb> db_;
  std::unique_ptr<StateStore> store_;
};

}  // namespace cairn::store::testing
