#include "core/http/json_writer.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/base/go_encoding.h"
#include "core/http/kv_json.h"

namespace cairn::http {
namespace {

TEST(JsonWriter, PlacesCommasAndEscapes) {
  JsonWriter w;
  w.beginObject().key("a").number(uint64_t{1}).key("b").beginArray().string("x\"y\n").boolean(true);
  w.null().endArray().key("c").beginObject().endObject().endObject();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x\"y\n",true,null],"c":{}})");
}

TEST(JsonWriter, EscapesLikeGoEncodingJson) {
  JsonWriter w;
  w.string(std::string("ok\xC3\xA9 bad\xFF ctl\x01 <&>", 18));
  EXPECT_EQ(w.str(), "\"ok\xC3\xA9 bad\\ufffd ctl\\u0001 \\u003c\\u0026\\u003e\"");
}

TEST(JsonWriter, BytesAreBase64OrNull) {
  JsonWriter w;
  w.beginArray().bytes("hello").bytes("").endArray();
  EXPECT_EQ(w.str(), R"(["aGVsbG8=",null])");
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  std::string binary("\0\x01\xff\xfe", 4);
  auto out = base64Decode(base64Encode(binary));
  ASSERT_TRUE(out.isOk());
  EXPECT_EQ(*out, binary);
  EXPECT_FALSE(base64Decode("abc").isOk());
  EXPECT_FALSE(base64Decode("a*b=").isOk());
}

TEST(PrettyJson, IndentsWithFourSpaces) {
  EXPECT_EQ(
      prettyJson(R"({"a":[1,2],"b":{},"c":"x,{"})"),
      "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {},\n    \"c\": \"x,{\"\n}\n");
}

TEST(KvJson, EntryShapeMatchesConsul) {
  store::KvEntry e{"k", "v", 3, 4, 5, 0, ""};
  EXPECT_EQ(
      kvEntriesJson({e}),
      R"([{"LockIndex":0,"Key":"k","Flags":3,"Value":"dg==","CreateIndex":4,"ModifyIndex":5}])");
  e.session = "s";
  e.value.clear();
  EXPECT_EQ(
      kvEntriesJson({e}),
      R"([{"LockIndex":0,"Key":"k","Flags":3,"Value":null,"Session":"s","CreateIndex":4,"ModifyIndex":5}])");
}

TEST(KvJson, TxnOutcomeShapes) {
  store::TxnOutcome ok;
  ok.results.push_back(store::KvEntry{"k", "", 0, 1, 1, 0, ""});
  EXPECT_EQ(
      txnOutcomeJson(ok),
      R"({"Results":[{"KV":{"LockIndex":0,"Key":"k","Flags":0,"Value":null,"CreateIndex":1,"ModifyIndex":1}}],"Errors":null})");
  store::TxnOutcome failed;
  failed.ok = false;
  failed.errors.push_back({2, "boom"});
  EXPECT_EQ(txnOutcomeJson(failed), R"({"Results":null,"Errors":[{"OpIndex":2,"What":"boom"}]})");
}

TEST(JsonWriter, DoublesAreShortestAndFinite) {
  JsonWriter w;
  w.beginArray().number(0.0).number(1.0).number(0.1).number(-2.5e-7).number(1e21);
  w.number(std::numeric_limits<double>::quiet_NaN()).endArray();
  EXPECT_EQ(w.str(), "[0,1,0.1,-2.5e-07,1e+21,0]");
}

}  // namespace
}  // namespace cairn::http
