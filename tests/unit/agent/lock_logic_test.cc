#include "agent/cli/lock_logic.h"

#include <gtest/gtest.h>

namespace cairn::cli::lock {
namespace {

using std::chrono::seconds;

KvPair pair(std::string key, std::string session) {
  KvPair p;
  p.key = std::move(key);
  p.session = std::move(session);
  return p;
}

TEST(LockLogic, KeysFollowConsulsLayout) {
  EXPECT_EQ(lockKey("svc/ha"), "svc/ha/.lock");
  EXPECT_EQ(lockKey("svc/ha//"), "svc/ha/.lock");
  EXPECT_EQ(lockKey(""), ".lock");
  EXPECT_EQ(contenderKey("svc/pool/", "abc"), "svc/pool/abc");
}

TEST(LockLogic, SemaphoreDocumentRoundTrips) {
  SemaphoreLock lock{2, {"s1", "s2"}};
  auto decoded = decodeSemaphoreLock(encodeSemaphoreLock(lock), 9);
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->limit, 2);
  EXPECT_EQ(decoded->holders, (std::set<std::string>{"s1", "s2"}));
}

TEST(LockLogic, SemaphoreDocumentAsConsulWritesIt) {
  auto decoded = decodeSemaphoreLock(R"({"Limit":3,"Holders":{"a":true,"b":false}})", 1);
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->limit, 3);
  EXPECT_EQ(decoded->holders, std::set<std::string>{"a"});
  auto nil_holders = decodeSemaphoreLock(R"({"Limit":2,"Holders":null})", 1);
  ASSERT_TRUE(nil_holders.isOk());
  EXPECT_TRUE(nil_holders->holders.empty());
}

TEST(LockLogic, EmptyValueIsANewDocumentWithOurLimit) {
  auto decoded = decodeSemaphoreLock("", 4);
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->limit, 4);
  EXPECT_TRUE(decoded->holders.empty());
}

TEST(LockLogic, GarbageDocumentIsAnErrorNotACrash) {
  for (const char* bad : {"{", "[]", R"({"Holders":{}})", R"({"Limit":"x"})", "\xff"}) {
    auto decoded = decodeSemaphoreLock(bad, 2);
    ASSERT_FALSE(decoded.isOk()) << bad;
    EXPECT_NE(decoded.status().message().find("lock decoding failed"), std::string::npos);
  }
}

TEST(LockLogic, DeadHoldersArePruned) {
  SemaphoreLock lock{2, {"alive", "dead", "released"}};
  std::vector<KvPair> pairs = {pair("p/.lock", ""), pair("p/alive", "alive"),
                               pair("p/released", "")};
  pruneDeadHolders(lock, pairs);
  EXPECT_EQ(lock.holders, std::set<std::string>{"alive"});
}

TEST(LockLogic, FindPairMatchesExactKeyOnly) {
  std::vector<KvPair> pairs = {pair("p/.lock2", ""), pair("p/.lock", "x")};
  ASSERT_NE(findPair(pairs, "p/.lock"), nullptr);
  EXPECT_EQ(findPair(pairs, "p/.lock")->session, "x");
  EXPECT_EQ(findPair(pairs, "p/.lo"), nullptr);
}

TEST(HoldDeadline, EarliestOfConfirmAndRenewWindows) {
  HoldDeadline::Clock::time_point t0{};
  HoldDeadline hold(seconds(15), seconds(30), t0, t0);
  EXPECT_EQ(hold.deadline(), t0 + seconds(15));
  hold.confirmed(t0 + seconds(10));
  EXPECT_EQ(hold.deadline(), t0 + seconds(25));  // confirm 10+15 < renew 0+30
  hold.confirmed(t0 + seconds(20));
  EXPECT_EQ(hold.deadline(), t0 + seconds(30));  // renew window now binds
  hold.renewed(t0 + seconds(20));
  EXPECT_EQ(hold.deadline(), t0 + seconds(35));
  EXPECT_FALSE(hold.expired(t0 + seconds(34)));
  EXPECT_TRUE(hold.expired(t0 + seconds(35)));
}

TEST(HoldDeadline, OlderEvidenceNeverMovesItBack) {
  HoldDeadline::Clock::time_point t0{};
  HoldDeadline hold(seconds(15), seconds(30), t0 + seconds(10), t0 + seconds(10));
  hold.confirmed(t0 + seconds(5));  // a slow answer to an earlier request
  hold.renewed(t0 + seconds(1));
  EXPECT_EQ(hold.deadline(), t0 + seconds(25));
}

TEST(HoldDeadline, AnOldRenewBindsFromTheStart) {
  HoldDeadline::Clock::time_point t0{};
  HoldDeadline hold(seconds(15), seconds(30), t0 + seconds(20), t0);
  EXPECT_EQ(hold.deadline(), t0 + seconds(30));
}

TEST(AcquireWait, NeverWaitsPastTheTimeout) {
  using std::chrono::milliseconds;
  std::chrono::steady_clock::time_point t0{};
  EXPECT_EQ(acquireWait(std::nullopt, t0, 5, seconds(3)), seconds(3));
  EXPECT_EQ(acquireWait(t0 + seconds(2), t0, 0, seconds(3)), seconds(2));
  EXPECT_EQ(acquireWait(t0 + seconds(10), t0, 1, seconds(3)), seconds(3));
  EXPECT_EQ(acquireWait(t0 + milliseconds(1500), t0 + seconds(1), 1, seconds(3)),
            milliseconds(500));
  EXPECT_EQ(acquireWait(t0 + seconds(2), t0 + seconds(2), 1, seconds(3)), std::nullopt);
  // The first attempt is made even when the timeout already passed.
  EXPECT_EQ(acquireWait(t0 + seconds(1), t0 + seconds(2), 0, seconds(3)), milliseconds(1));
}

TEST(RetryBudget, ToleratesRetriesInARowAndResets) {
  RetryBudget budget(2);
  EXPECT_TRUE(budget.failed());
  EXPECT_TRUE(budget.failed());
  EXPECT_FALSE(budget.failed());
  RetryBudget again(2);
  EXPECT_TRUE(again.failed());
  again.succeeded();
  EXPECT_TRUE(again.failed());
  EXPECT_TRUE(again.failed());
  EXPECT_FALSE(again.failed());
  RetryBudget none(0);
  EXPECT_FALSE(none.failed());
}

}  // namespace
}  // namespace cairn::cli::lock
