// ServerPicker: a client agent's choice of server and its failover rules (pure, manual time).
#include "agent/client/server_picker.h"

#include <gtest/gtest.h>

namespace cairn::agent::client {
namespace {

using namespace std::chrono_literals;

SteadyTime at(Nanos t) { return SteadyTime(t); }

TEST(ServerPicker, EmptyUntilServersAreKnownAndDuplicatesAreDropped) {
  ServerPicker p(5s);
  EXPECT_EQ(p.current(), "");
  EXPECT_EQ(p.markFailed(p.generation(), at(1s)), "");
  p.setServers({"a:1", "b:1", "a:1", ""});
  EXPECT_EQ(p.servers(), (std::vector<std::string>{"a:1", "b:1"}));
  EXPECT_EQ(p.current(), "a:1");
}

TEST(ServerPicker, FailureMovesToTheNextServerInRotation) {
  ServerPicker p(5s);
  p.setServers({"a:1", "b:1", "c:1"});
  uint64_t g = p.generation();
  EXPECT_EQ(p.markFailed(g, at(1s)), "b:1");
  EXPECT_NE(p.generation(), g);
  EXPECT_EQ(p.markFailed(p.generation(), at(2s)), "c:1");
}

TEST(ServerPicker, ReportsOfAnOlderGenerationDoNotMoveTwice) {
  ServerPicker p(5s);
  p.setServers({"a:1", "b:1", "c:1"});
  uint64_t g = p.generation();
  EXPECT_EQ(p.markFailed(g, at(1s)), "b:1");
  // A second call that used a:1 fails too: the client already moved on.
  EXPECT_EQ(p.markFailed(g, at(1s)), "b:1");
}

TEST(ServerPicker, RecentlyFailedServersAreSkippedUntilTheCooldownPasses) {
  ServerPicker p(5s);
  p.setServers({"a:1", "b:1", "c:1"});
  p.markFailed(p.generation(), at(1s));                    // a failed → b
  EXPECT_EQ(p.markFailed(p.generation(), at(2s)), "c:1");  // b failed → c
  // c fails at 3 s: a (failed at 1 s) and b (2 s) are both within 5 s; the oldest failure wins.
  EXPECT_EQ(p.markFailed(p.generation(), at(3s)), "a:1");
  // a fails again at 7 s: b's failure (2 s) is past the cooldown, c's (3 s) is not.
  EXPECT_EQ(p.markFailed(p.generation(), at(7s)), "b:1");
}

TEST(ServerPicker, OneServerIsRetriedAfterItsFailure) {
  ServerPicker p(5s);
  p.setServers({"a:1"});
  uint64_t g = p.generation();
  EXPECT_EQ(p.markFailed(g, at(1s)), "a:1");
  EXPECT_NE(p.generation(), g);  // a fresh channel to it
}

TEST(ServerPicker, NewServerListsKeepTheCurrentServerWhenStillKnown) {
  ServerPicker p(5s);
  p.setServers({"a:1", "b:1"});
  p.markFailed(p.generation(), at(1s));  // → b
  uint64_t g = p.generation();
  p.setServers({"c:1", "b:1", "a:1"});
  EXPECT_EQ(p.current(), "b:1");
  EXPECT_EQ(p.generation(), g);
  p.setServers({"c:1", "a:1"});  // b is gone
  EXPECT_EQ(p.current(), "c:1");
  EXPECT_NE(p.generation(), g);
}

}  // namespace
}  // namespace cairn::agent::client
