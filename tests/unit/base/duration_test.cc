#include "core/base/duration.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

Nanos parseOk(std::string_view text) {
  auto parsed = parseGoDuration(text);
  EXPECT_TRUE(parsed.isOk()) << text << ": " << parsed.status().toString();
  return parsed.isOk() ? *parsed : Nanos(-1);
}

TEST(ParseGoDuration, AcceptsWhatConsulClientsSend) {
  EXPECT_EQ(parseOk("0"), Nanos(0));
  EXPECT_EQ(parseOk("10s"), seconds(10));
  EXPECT_EQ(parseOk("15.0s"), seconds(15));
  EXPECT_EQ(parseOk("9.87s"), milliseconds(9870));
  EXPECT_EQ(parseOk("0.001s"), milliseconds(1));
  EXPECT_EQ(parseOk("120000ms"), minutes(2));
  EXPECT_EQ(parseOk("1h30m"), hours(1) + minutes(30));
  EXPECT_EQ(parseOk("1.5h"), minutes(90));
  EXPECT_EQ(parseOk(".5s"), milliseconds(500));
  EXPECT_EQ(parseOk("1.s"), seconds(1));
  EXPECT_EQ(parseOk("-2m"), -minutes(2));
  EXPECT_EQ(parseOk("+3ns"), nanoseconds(3));
  EXPECT_EQ(parseOk("7us"), nanoseconds(7000));
  EXPECT_EQ(parseOk("7\xC2\xB5s"), nanoseconds(7000));
  EXPECT_EQ(parseOk("1h1m1s1ms1us1ns"), hours(1) + minutes(1) + seconds(1) + nanoseconds(1001001));
}

TEST(ParseGoDuration, RejectsMalformedInput) {
  for (const char* bad : {"", "s", "10", "1.5", ".s", "-", "10x", "1d", "abc", "1 s", "10s5",
                          "99999999999999999999s", "3000000h"}) {
    EXPECT_FALSE(parseGoDuration(bad).isOk()) << bad;
  }
}

TEST(ParseGoDuration, ErrorMessagesNameTheInput) {
  auto r = parseGoDuration("10x");
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("10x"), std::string::npos);
}

TEST(FormatGoDuration, MatchesGoDurationString) {
  EXPECT_EQ(formatGoDuration(Nanos(0)), "0s");
  EXPECT_EQ(formatGoDuration(nanoseconds(999)), "999ns");
  EXPECT_EQ(formatGoDuration(nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(formatGoDuration(milliseconds(27)), "27ms");
  EXPECT_EQ(formatGoDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(formatGoDuration(seconds(10)), "10s");
  EXPECT_EQ(formatGoDuration(hours(1) + minutes(30)), "1h30m0s");
  EXPECT_EQ(formatGoDuration(-seconds(2)), "-2s");
}

TEST(FormatGoDuration, RoundTripsThroughParse) {
  for (int64_t n : {1LL, 1000LL, 1234567LL, 15000000000LL, 5400000000000LL, 86400000000123LL}) {
    EXPECT_EQ(parseOk(formatGoDuration(Nanos(n))), Nanos(n)) << n;
  }
}

}  // namespace
}  // namespace cairn
