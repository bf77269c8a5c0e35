#include <gtest/gtest.h>

#include "core/http/json_reader.h"
#include "core/http/kv_key.h"
#include "core/http/query.h"
#include "core/http/query_options.h"

namespace cairn::http {
namespace {

TEST(QueryParams, FlagsArePresenceBased) {
  auto q = QueryParams::parse("recurse&keys=false&raw=1&empty=");
  EXPECT_TRUE(q.has("recurse"));
  EXPECT_TRUE(q.has("keys"));
  EXPECT_TRUE(q.has("raw"));
  EXPECT_TRUE(q.has("empty"));
  EXPECT_FALSE(q.has("stale"));
  EXPECT_EQ(q.get("recurse"), "");
}

TEST(QueryParams, RepeatsAndDecodes) {
  auto q = QueryParams::parse("tag=a&tag=b%20c&sep=%2F&plus=a+b&&=x&bad=%zz");
  EXPECT_EQ(q.all("tag"), (std::vector<std::string>{"a", "b c"}));
  EXPECT_EQ(q.get("sep"), "/");
  EXPECT_EQ(q.get("plus"), "a b");
  EXPECT_FALSE(q.has("bad")) << "malformed pairs are dropped, as Go does";
}

TEST(PercentDecode, RejectsMalformedEscapes) {
  EXPECT_EQ(percentDecode("a%2Fb", false), "a/b");
  EXPECT_EQ(percentDecode("a+b", false), "a+b");
  EXPECT_FALSE(percentDecode("a%2", false));
  EXPECT_FALSE(percentDecode("a%", false));
  EXPECT_FALSE(percentDecode("%g0", false));
}

TEST(QueryOptions, DefaultsAndBlocking) {
  auto o = parseQueryOptions(QueryParams::parse(""));
  ASSERT_TRUE(o.isOk());
  EXPECT_FALSE(o->blocking);
  EXPECT_EQ(o->mode, node::ReadMode::kDefault);
  o = parseQueryOptions(QueryParams::parse("index=7&wait=120000ms&stale"));
  ASSERT_TRUE(o.isOk());
  EXPECT_TRUE(o->blocking);
  EXPECT_EQ(o->min_index, 7u);
  EXPECT_EQ(o->wait, std::chrono::minutes(2));
  EXPECT_EQ(o->mode, node::ReadMode::kStale);
}

TEST(QueryOptions, WaitIsClampedAndIndexZeroDoesNotBlock) {
  auto o = parseQueryOptions(QueryParams::parse("index=0&wait=1h"));
  ASSERT_TRUE(o.isOk());
  EXPECT_FALSE(o->blocking);
  EXPECT_EQ(o->wait, kMaxBlockingWait);
  o = parseQueryOptions(QueryParams::parse("index=3&wait=0s"));
  EXPECT_EQ(o->wait, kDefaultBlockingWait);
}

TEST(QueryOptions, BadInputGetsConsulTexts) {
  for (const char* q :
       {"index=abc", "index=-1", "index=1.5", "index=", "index=99999999999999999999"}) {
    auto o = parseQueryOptions(QueryParams::parse(q));
    ASSERT_FALSE(o.isOk()) << q;
    EXPECT_EQ(o.status().message(), "Invalid index") << q;
  }
  auto o = parseQueryOptions(QueryParams::parse("wait=10x"));
  EXPECT_EQ(o.status().message(), "Invalid wait time");
  o = parseQueryOptions(QueryParams::parse("stale&consistent"));
  EXPECT_EQ(o.status().message(), "Cannot specify ?stale with ?consistent, conflicting semantics.");
  o = parseQueryOptions(QueryParams::parse("stale&leader"));
  EXPECT_EQ(o->mode, node::ReadMode::kDefault);
}

TEST(KvKey, RejectsTraversalAndEdgeSpacesOnly) {
  for (const char* ok : {"a", "a/b/", "a..b", ".hidden", "x/.../y", "with space", "a:b@c%d", "é"}) {
    EXPECT_TRUE(validateKvKey(ok).isOk()) << ok;
  }
  for (const char* bad : {"..", "../x", "a/../b", "a/..", " lead", "trail ", " "}) {
    EXPECT_FALSE(validateKvKey(bad).isOk()) << bad;
  }
}

TEST(JsonReader, FieldsMatchCaseInsensitivelyAndSnakeCase) {
  auto v = parseJson(R"({"verb":"set","KEY":"k","lock_delay":"15s","Flags":3})");
  ASSERT_TRUE(v.isOk());
  EXPECT_EQ(stringField(*v, "Verb")->value(), "set");
  EXPECT_EQ(stringField(*v, "Key")->value(), "k");
  EXPECT_EQ(stringField(*v, "LockDelay")->value(), "15s");
  EXPECT_EQ(uintField(*v, "Flags")->value(), 3u);
  EXPECT_FALSE(stringField(*v, "Missing")->has_value());
}

TEST(JsonReader, WrongTypesAndBadJsonAreErrors) {
  auto v = parseJson(R"({"Key":5,"Flags":-1,"Index":"x"})");
  ASSERT_TRUE(v.isOk());
  EXPECT_FALSE(stringField(*v, "Key").isOk());
  EXPECT_FALSE(uintField(*v, "Flags").isOk());
  EXPECT_FALSE(uintField(*v, "Index").isOk());
  EXPECT_FALSE(parseJson("{").isOk());
  EXPECT_FALSE(parseJson("").isOk());
}

}  // namespace
}  // namespace cairn::http
