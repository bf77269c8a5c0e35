#include "core/store/watch_hub.h"

#include <gtest/gtest.h>

namespace cairn::store {
namespace {

TEST(WatchHub, PrefixWatchMatchesKeysUnderIt) {
  WatchHub hub;
  int woken = 0;
  hub.watch({"a/", true}, 0, [&] { ++woken; });
  hub.notify(1, {"b/x"});
  EXPECT_EQ(woken, 0);
  hub.notify(2, {"a/x", "a/y"});
  EXPECT_EQ(woken, 1) << "a waiter wakes once";
  EXPECT_EQ(hub.waiting(), 0u);
}

TEST(WatchHub, RootPrefixMatchesEverything) {
  WatchHub hub;
  int woken = 0;
  hub.watch({"", true}, 0, [&] { ++woken; });
  hub.notify(1, {"anything"});
  EXPECT_EQ(woken, 1);
}

TEST(WatchHub, LateRegistrationSeesAMissedRelevantChange) {
  WatchHub hub;
  hub.notify(5, {"k"});
  int woken = 0;
  EXPECT_EQ(hub.watch({"k", false}, 4, [&] { ++woken; }), 0u);
  EXPECT_EQ(woken, 1) << "changed after the caller's query: wake at once";
  EXPECT_NE(hub.watch({"other", false}, 4, [&] { ++woken; }), 0u);
  EXPECT_EQ(woken, 1) << "an unrelated change does not wake";
}

TEST(WatchHub, CancelPreventsWake) {
  WatchHub hub;
  int woken = 0;
  auto id = hub.watch({"k", false}, 0, [&] { ++woken; });
  EXPECT_TRUE(hub.cancel(id));
  EXPECT_FALSE(hub.cancel(id));
  hub.notify(1, {"k"});
  EXPECT_EQ(woken, 0);
}

TEST(WatchHub, NotifyAllWakesEveryone) {
  WatchHub hub;
  int woken = 0;
  for (int i = 0; i < 10; ++i)
    hub.watch({"k" + std::to_string(i), i % 2 == 0}, 0, [&] { ++woken; });
  hub.notifyAll(3);
  EXPECT_EQ(woken, 10);
  EXPECT_EQ(hub.lastIndex(), 3u);
}

TEST(WatchHub, ManyWaitersOnOneKeyAllWake) {
  WatchHub hub;
  int woken = 0;
  for (int i = 0; i < 10000; ++i) hub.watch({"hot", false}, 0, [&] { ++woken; });
  hub.notify(1, {"hot"});
  EXPECT_EQ(woken, 10000);
}

}  // namespace
}  // namespace cairn::store
