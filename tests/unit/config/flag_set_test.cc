#include "core/config/flag_set.h"

#include <gtest/gtest.h>

#include "core/base/go_encoding.h"

namespace cairn::config {
namespace {

struct Flags {
  bool dev = false;
  int port = 0;
  uint64_t index = 0;
  std::string name;
  std::vector<std::string> joins;
  FlagSet fs;
  Flags() {
    fs.addBool("dev", &dev, "dev mode");
    fs.addInt("port", &port, "a port");
    fs.addUint64("index", &index, "an index");
    fs.addString("name", &name, "a name");
    fs.addStringList("join", &joins, "repeatable");
  }
};

TEST(FlagSet, AcceptsEveryGoSyntax) {
  Flags f;
  ASSERT_TRUE(
      f.fs.parse({"-dev", "--port", "80", "-name=x", "--join=a", "-join", "b", "rest", "-port=9"})
          .isOk());
  EXPECT_TRUE(f.dev);
  EXPECT_EQ(f.port, 80);
  EXPECT_EQ(f.name, "x");
  EXPECT_EQ(f.joins, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.fs.args(), (std::vector<std::string>{"rest", "-port=9"}));
  EXPECT_TRUE(f.fs.isSet("port"));
  EXPECT_FALSE(f.fs.isSet("index"));
}

TEST(FlagSet, BoolTakesOnlyAnAttachedValue) {
  Flags f;
  ASSERT_TRUE(f.fs.parse({"-dev=false", "true"}).isOk());
  EXPECT_FALSE(f.dev);
  EXPECT_EQ(f.fs.args(), std::vector<std::string>{"true"});
  Flags g;
  ASSERT_TRUE(g.fs.parse({"--dev=T"}).isOk());
  EXPECT_TRUE(g.dev);
}

TEST(FlagSet, StopsAtDoubleDashAndLoneDash) {
  Flags f;
  ASSERT_TRUE(f.fs.parse({"-dev", "--", "-port", "1"}).isOk());
  EXPECT_EQ(f.fs.args(), (std::vector<std::string>{"-port", "1"}));
  Flags g;
  ASSERT_TRUE(g.fs.parse({"-", "-dev"}).isOk());
  EXPECT_FALSE(g.dev);
  EXPECT_EQ(g.fs.args(), (std::vector<std::string>{"-", "-dev"}));
}

TEST(FlagSet, ValueMayStartWithDash) {
  Flags f;
  ASSERT_TRUE(f.fs.parse({"-name", "-dev", "-port", "-1"}).isOk());
  EXPECT_EQ(f.name, "-dev");
  EXPECT_EQ(f.port, -1);
  EXPECT_FALSE(f.dev);
}

TEST(FlagSet, ErrorsUseGoWording) {
  auto error = [](std::vector<std::string> args) {
    Flags f;
    return f.fs.parse(args).message();
  };
  EXPECT_EQ(error({"-x"}), "flag provided but not defined: -x");
  EXPECT_EQ(error({"--nope=1"}), "flag provided but not defined: -nope");
  EXPECT_EQ(error({"-port"}), "flag needs an argument: -port");
  EXPECT_EQ(error({"-port", "abc"}), "invalid value \"abc\" for flag -port: parse error");
  EXPECT_EQ(error({"-port=99999999999"}),
            "invalid value \"99999999999\" for flag -port: value out of range");
  EXPECT_EQ(error({"-index=-1"}), "invalid value \"-1\" for flag -index: parse error");
  EXPECT_EQ(error({"-dev=maybe"}), "invalid boolean value \"maybe\" for -dev: parse error");
  EXPECT_EQ(error({"---dev"}), "bad flag syntax: ---dev");
  EXPECT_EQ(error({"-=x"}), "bad flag syntax: -=x");
}

TEST(FlagSet, HelpStopsParsing) {
  for (const char* h : {"-h", "--help", "-help"}) {
    Flags f;
    ASSERT_TRUE(f.fs.parse({"-dev", h, "-bogus"}).isOk()) << h;
    EXPECT_TRUE(f.fs.helpRequested()) << h;
  }
}

TEST(FlagSet, UsageListsFlagsSorted) {
  Flags f;
  std::string usage = f.fs.usage();
  EXPECT_LT(usage.find("-dev\n"), usage.find("-index=<uint>"));
  EXPECT_LT(usage.find("-join=<value>"), usage.find("-name=<string>"));
  EXPECT_NE(usage.find("      a port\n"), std::string::npos);
}

TEST(ParseGoInt, BasesAndLimits) {
  EXPECT_EQ(*parseGoInt("0x10"), 16);
  EXPECT_EQ(*parseGoInt("010"), 8);
  EXPECT_EQ(*parseGoInt("0b11"), 3);
  EXPECT_EQ(*parseGoInt("0o17"), 15);
  EXPECT_EQ(*parseGoInt("1_000"), 1000);
  EXPECT_EQ(*parseGoInt("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(*parseGoInt("+5"), 5);
  EXPECT_EQ(*parseGoUint("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(parseGoUint("18446744073709551616").status().message(), "value out of range");
  EXPECT_EQ(parseGoInt("9223372036854775808").status().message(), "value out of range");
  for (const char* bad : {"", "-", "0x", "1_", "_1", "1__0", "12a", "08", " 1", "1.0"}) {
    EXPECT_FALSE(parseGoInt(bad).isOk()) << bad;
  }
}

TEST(ParseGoBool, GoSpellings) {
  bool b = false;
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_TRUE(parseGoBool(t, &b) && b) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_TRUE(parseGoBool(f, &b) && !b) << f;
  }
  EXPECT_FALSE(parseGoBool("yes", &b));
  EXPECT_FALSE(parseGoBool("", &b));
}

}  // namespace
}  // namespace cairn::config
