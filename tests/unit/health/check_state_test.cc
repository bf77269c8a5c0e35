#include "core/health/check_state.h"

#include <gtest/gtest.h>

namespace cairn::health {
namespace {

using namespace std::chrono_literals;

constexpr auto kPass = CheckStatus::kPassing;
constexpr auto kWarn = CheckStatus::kWarning;
constexpr auto kCrit = CheckStatus::kCritical;

SteadyTime at(Nanos d) { return SteadyTime(std::chrono::seconds(100)) + d; }

ProbeResult result(CheckStatus s, std::string out = "") { return {s, std::move(out), false}; }

TEST(OutputRing, KeepsTheLastBytes) {
  OutputRing ring(5);
  ring.append("abc");
  EXPECT_EQ(ring.tail(), "abc");
  EXPECT_FALSE(ring.truncated());
  ring.append("defg");
  EXPECT_EQ(ring.tail(), "cdefg");
  EXPECT_EQ(ring.totalWritten(), 7u);
  EXPECT_TRUE(ring.truncated());
  ring.append("0123456789");
  EXPECT_EQ(ring.tail(), "56789");
  EXPECT_EQ(ring.totalWritten(), 17u);
}

TEST(OutputRing, ScriptOutputAnnouncesTruncation) {
  OutputRing ring(4);
  ring.append("ok");
  EXPECT_EQ(scriptOutput(ring), "ok");
  ring.append("123456");
  EXPECT_EQ(scriptOutput(ring), "Captured 4 of 8 bytes\n...\n3456");
}

TEST(CapTtlOutput, KeepsTheFirstBytes) {
  EXPECT_EQ(capTtlOutput("short", 10), "short");
  EXPECT_EQ(capTtlOutput("0123456789", 10), "0123456789");
  EXPECT_EQ(capTtlOutput("0123456789ab", 4), "0123 ... (captured 4 of 12 bytes)");
}

TEST(CheckState, NoThresholdsReportEveryResult) {
  CheckState s(kCrit, Thresholds{}, at(0s));
  EXPECT_TRUE(s.applyResult(result(kPass, "ok"), at(1s)));
  EXPECT_EQ(s.status(), kPass);
  EXPECT_EQ(s.output(), "ok");
  EXPECT_FALSE(s.applyResult(result(kPass, "ok"), at(2s)));  // no change
  EXPECT_TRUE(s.applyResult(result(kPass, "ok2"), at(3s)));  // output change
  EXPECT_TRUE(s.applyResult(result(kWarn, "slow"), at(4s)));
  EXPECT_EQ(s.status(), kWarn);
  EXPECT_TRUE(s.applyResult(result(kCrit, "down"), at(5s)));
  EXPECT_EQ(s.status(), kCrit);
}

TEST(CheckState, FirstResultIsReportedImmediatelyWhateverTheThresholds) {
  // Consul starts both counters at their thresholds.
  CheckState s(kCrit, Thresholds{3, 3, 3}, at(0s));
  EXPECT_TRUE(s.applyResult(result(kPass, "up"), at(1s)));
  EXPECT_EQ(s.status(), kPass);
  CheckState t(kPass, Thresholds{3, 3, 3}, at(0s));
  EXPECT_TRUE(t.applyResult(result(kCrit, "down"), at(1s)));
  EXPECT_EQ(t.status(), kCrit);
}

TEST(CheckState, SuccessBeforePassingNeedsConsecutiveSuccesses) {
  CheckState s(kCrit, Thresholds{3, 0, 0}, at(0s));
  ASSERT_TRUE(s.applyResult(result(kCrit, "down"), at(1s)));  // failures reset successes to 0
  EXPECT_FALSE(s.applyResult(result(kPass, "up"), at(2s)));
  EXPECT_FALSE(s.applyResult(result(kPass, "up"), at(3s)));
  EXPECT_EQ(s.status(), kCrit);
  EXPECT_EQ(s.output(), "down");  // output is not updated either
  EXPECT_TRUE(s.applyResult(result(kPass, "up"), at(4s)));
  EXPECT_EQ(s.status(), kPass);
  // A failure in between restarts the count.
  EXPECT_TRUE(s.applyResult(result(kCrit, "down"), at(5s)));
  EXPECT_FALSE(s.applyResult(result(kPass, "up"), at(6s)));
  EXPECT_TRUE(s.applyResult(result(kCrit, "down again"), at(7s)));
  EXPECT_FALSE(s.applyResult(result(kPass, "up"), at(8s)));
  EXPECT_FALSE(s.applyResult(result(kPass, "up"), at(9s)));
  EXPECT_EQ(s.status(), kCrit);
}

TEST(CheckState, WarningCountsAsSuccess) {
  CheckState s(kCrit, Thresholds{2, 0, 0}, at(0s));
  ASSERT_TRUE(s.applyResult(result(kCrit, "down"), at(1s)));
  EXPECT_FALSE(s.applyResult(result(kWarn, "w"), at(2s)));
  EXPECT_TRUE(s.applyResult(result(kWarn, "w"), at(3s)));
  EXPECT_EQ(s.status(), kWarn);
}

TEST(CheckState, FailuresBeforeCritical) {
  CheckState s(kPass, Thresholds{0, 3, 3}, at(0s));
  ASSERT_TRUE(s.applyResult(result(kPass, "up"), at(1s)));
  EXPECT_FALSE(s.applyResult(result(kCrit, "x"), at(2s)));
  EXPECT_FALSE(s.applyResult(result(kCrit, "x"), at(3s)));
  EXPECT_EQ(s.status(), kPass);
  EXPECT_TRUE(s.applyResult(result(kCrit, "x"), at(4s)));
  EXPECT_EQ(s.status(), kCrit);
  // A success in between restarts the count.
  EXPECT_TRUE(s.applyResult(result(kPass, "up"), at(5s)));
  EXPECT_FALSE(s.applyResult(result(kCrit, "x"), at(6s)));
  EXPECT_FALSE(s.applyResult(result(kPass, "up"), at(7s)));
  EXPECT_FALSE(s.applyResult(result(kCrit, "x"), at(8s)));
  EXPECT_FALSE(s.applyResult(result(kCrit, "x"), at(9s)));
  EXPECT_EQ(s.status(), kPass);
}

TEST(CheckState, FailuresBeforeWarningReportsWarningFirst) {
  CheckState s(kPass, Thresholds{0, 1, 3}, at(0s));
  ASSERT_TRUE(s.applyResult(result(kPass, "up"), at(1s)));
  EXPECT_TRUE(s.applyResult(result(kCrit, "e1"), at(2s)));
  EXPECT_EQ(s.status(), kWarn);
  EXPECT_EQ(s.output(), "e1");
  EXPECT_TRUE(s.applyResult(result(kCrit, "e2"), at(3s)));
  EXPECT_EQ(s.status(), kWarn);
  EXPECT_EQ(s.output(), "e2");
  EXPECT_TRUE(s.applyResult(result(kCrit, "e3"), at(4s)));
  EXPECT_EQ(s.status(), kCrit);
}

TEST(CheckState, BypassIgnoresThresholds) {
  CheckState s(kPass, Thresholds{0, 5, 5}, at(0s));
  ASSERT_TRUE(s.applyResult(result(kPass, "up"), at(1s)));
  EXPECT_TRUE(s.applyResult(ProbeResult{kCrit, "Timed out (1s) running check", true}, at(2s)));
  EXPECT_EQ(s.status(), kCrit);
}

TEST(CheckState, CriticalSinceTracksTheStartOfTheCriticalSpell) {
  CheckState s(kCrit, Thresholds{}, at(0s));
  EXPECT_EQ(s.criticalSince(), at(0s));
  EXPECT_TRUE(s.applyResult(result(kCrit, "still"), at(5s)));
  EXPECT_EQ(s.criticalSince(), at(0s));  // an output change does not restart it
  EXPECT_TRUE(s.criticalLongerThan(4s, at(5s)));
  EXPECT_FALSE(s.criticalLongerThan(5s, at(5s)));
  EXPECT_TRUE(s.applyResult(result(kWarn), at(6s)));
  EXPECT_FALSE(s.criticalSince());
  EXPECT_FALSE(s.criticalLongerThan(0s, at(100s)));
  EXPECT_TRUE(s.applyResult(result(kCrit), at(7s)));
  EXPECT_EQ(s.criticalSince(), at(7s));
  CheckState p(kPass, Thresholds{}, at(0s));
  EXPECT_FALSE(p.criticalSince());
}

TEST(CheckState, TtlExpiresWithoutUpdates) {
  CheckState s(kCrit, Thresholds{}, at(0s));
  s.armTtl(10s, at(0s));
  EXPECT_FALSE(s.expireTtlIfDue(at(9s)));
  EXPECT_TRUE(s.ttlUpdate(kPass, "fine", 4096, 10s, at(9s)));
  EXPECT_EQ(s.status(), kPass);
  EXPECT_EQ(s.ttlDeadline(), at(19s));
  EXPECT_FALSE(s.expireTtlIfDue(at(18s)));
  EXPECT_TRUE(s.expireTtlIfDue(at(19s)));
  EXPECT_EQ(s.status(), kCrit);
  EXPECT_EQ(s.output(), "TTL expired (last output before timeout follows): fine");
  EXPECT_EQ(s.criticalSince(), at(19s));
  EXPECT_FALSE(s.ttlDeadline());
  EXPECT_FALSE(s.expireTtlIfDue(at(100s)));  // fires once
}

TEST(CheckState, TtlExpiryWithoutOutput) {
  CheckState s(kCrit, Thresholds{}, at(0s));
  s.armTtl(5s, at(0s));
  EXPECT_TRUE(s.expireTtlIfDue(at(5s)));
  EXPECT_EQ(s.output(), "TTL expired");
  CheckState t(kCrit, Thresholds{}, at(0s));
  EXPECT_TRUE(t.ttlUpdate(kPass, "", 4096, 5s, at(1s)));
  EXPECT_TRUE(t.expireTtlIfDue(at(6s)));
  EXPECT_EQ(t.output(), "TTL expired");
}

TEST(CheckState, TtlUpdateCapsOutputAndIgnoresThresholds) {
  CheckState s(kCrit, Thresholds{5, 5, 5}, at(0s));
  EXPECT_TRUE(s.ttlUpdate(kPass, "abcdefgh", 3, 10s, at(1s)));
  EXPECT_EQ(s.status(), kPass);
  EXPECT_EQ(s.output(), "abc ... (captured 3 of 8 bytes)");
  EXPECT_TRUE(s.ttlUpdate(kCrit, "x", 3, 10s, at(2s)));
  EXPECT_EQ(s.status(), kCrit);
  EXPECT_FALSE(s.ttlUpdate(kCrit, "x", 3, 10s, at(3s)));  // same: no change, but TTL renewed
  EXPECT_EQ(s.ttlDeadline(), at(13s));
}

}  // namespace
}  // namespace cairn::health
