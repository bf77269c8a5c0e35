#include "agent/cli/kv_format.h"

#include <gtest/gtest.h>

namespace cairn::cli {
namespace {

TEST(ExportJson, ExactGoMarshalIndentFormat) {
  std::vector<KvPair> pairs = {{"a", 0, "1"}, {"b <&> c", 7, ""}};
  EXPECT_EQ(formatExportJson(pairs),
            "[\n\t{\n\t\t\"key\": \"a\",\n\t\t\"flags\": 0,\n\t\t\"value\": \"MQ==\"\n\t},\n"
            "\t{\n\t\t\"key\": \"b \\u003c\\u0026\\u003e c\",\n\t\t\"flags\": 7,\n"
            "\t\t\"value\": \"\"\n\t}\n]");
  EXPECT_EQ(formatExportJson({}), "[]");
}

TEST(ExportJson, RoundTripsBinaryValuesOddKeysAndFlags) {
  std::vector<KvPair> pairs = {
      {std::string("k\0\x01\"\\\t\n", 7), 18446744073709551615u, std::string("\0\xff\x80", 3)},
      {"ünïcödé/\u2028", 1, "v"},
      {"dir/", 0, ""}};
  auto parsed = parseExportJson(formatExportJson(pairs));
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 3u);
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_EQ((*parsed)[i].key, pairs[i].key);
    EXPECT_EQ((*parsed)[i].flags, pairs[i].flags);
    EXPECT_EQ(*base64Decode((*parsed)[i].value), pairs[i].value);
  }
}

TEST(ExportJson, ImportIsLenientLikeGo) {
  auto parsed = parseExportJson(R"([{"Key": "a", "FLAGS": 2, "Value": "eA==", "extra": [1]},
                                    {"key": "b", "value": null}])");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].key, "a");
  EXPECT_EQ((*parsed)[0].flags, 2u);
  EXPECT_EQ((*parsed)[0].value, "eA==");
  EXPECT_EQ((*parsed)[1].value, "");
  EXPECT_TRUE(parseExportJson("null")->empty());
  EXPECT_TRUE(parseExportJson("[]")->empty());
}

TEST(ExportJson, ImportErrors) {
  EXPECT_EQ(parseExportJson(R"({"key":"a"})").status().message(),
            "Cannot unmarshal data: json: cannot unmarshal object into Go value of type "
            "[]*impexp.Entry");
  EXPECT_EQ(parseExportJson(R"([{"key": 1}])").status().message(),
            "Cannot unmarshal data: json: cannot unmarshal number into Go struct field "
            "Entry.key of type string");
  EXPECT_EQ(parseExportJson(R"([{"flags": -1}])").status().message(),
            "Cannot unmarshal data: json: cannot unmarshal number into Go struct field "
            "Entry.flags of type uint64");
  EXPECT_EQ(parseExportJson("not json").status().message().rfind("Cannot unmarshal data: ", 0), 0u);
  EXPECT_FALSE(parseExportJson("[1]").isOk());
}

TEST(ImportKey, GoPathJoinKeepingDirectorySlash) {
  EXPECT_EQ(importKey("", "a/b"), "a/b");
  EXPECT_EQ(importKey("p", "a/b"), "p/a/b");
  EXPECT_EQ(importKey("p/", "/a//b/"), "p/a/b/");
  EXPECT_EQ(importKey("", "dir/"), "dir/");
  EXPECT_EQ(importKey("p", "../x"), "x");
  EXPECT_EQ(importKey("", ""), "");
}

TEST(GoPathClean, MatchesGo) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "."},
      {"abc", "abc"},
      {"abc/", "abc"},
      {"a//c", "a/c"},
      {"a/./c", "a/c"},
      {"a/../c", "c"},
      {"../../x", "../../x"},
      {"/../x", "/x"},
      {"/", "/"},
      {"a/b/..", "a"},
      {"a/..", "."},
      {"./a/", "a"},
      {"ab/c/../d", "ab/d"},
      {"..", ".."},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(goPathClean(in), out) << in;
}

TEST(Detailed, AlignedLikeGoTabwriter) {
  KvPair p{"web/key", 42, "hello", "", 5, 9, 0};
  EXPECT_EQ(formatDetailed(p, false, false),
            "CreateIndex      5\nFlags            42\nKey              web/key\n"
            "LockIndex        0\nModifyIndex      9\nSession          -\nValue            hello");
  p.session = "adf4238a-882b-9ddc-4a9d-5b6758e4159e";
  std::string b64 = formatDetailed(p, true, false);
  EXPECT_NE(b64.find("Session          adf4238a-882b-9ddc-4a9d-5b6758e4159e\n"), std::string::npos);
  EXPECT_NE(b64.find("Value            aGVsbG8="), std::string::npos);
  EXPECT_EQ(formatDetailed(p, false, true).find("Value"), std::string::npos);
}

TEST(Tabwriter, ColumnBlocksEndAtLinesWithoutTheCell) {
  EXPECT_EQ(tabwrite("a\tb\nlonger\tc\nno tab\nx\ty", 2), "a       b\nlonger  c\nno tab\nx  y");
  EXPECT_EQ(tabwrite("a\tb\tc\naa\tbbb\tc\n", 1), "a  b   c\naa bbb c\n");
}

TEST(KvPairs, DecodesAgentJson) {
  auto pairs = parseKvPairs(R"([{"LockIndex":1,"Key":"k","Flags":18446744073709551615,
      "Value":"aGk=","Session":"s","CreateIndex":3,"ModifyIndex":4},
      {"LockIndex":0,"Key":"e","Flags":0,"Value":null,"CreateIndex":5,"ModifyIndex":5}])");
  ASSERT_TRUE(pairs.isOk()) << pairs.status().message();
  ASSERT_EQ(pairs->size(), 2u);
  EXPECT_EQ((*pairs)[0].value, "hi");
  EXPECT_EQ((*pairs)[0].flags, UINT64_MAX);
  EXPECT_EQ((*pairs)[0].session, "s");
  EXPECT_EQ((*pairs)[0].lock_index, 1u);
  EXPECT_EQ((*pairs)[0].create_index, 3u);
  EXPECT_EQ((*pairs)[0].modify_index, 4u);
  EXPECT_EQ((*pairs)[1].value, "");
  EXPECT_FALSE(parseKvPairs("{").isOk());
  EXPECT_FALSE(parseKvPairs(R"([{"Key":"k","Value":"***"}])").isOk());
  EXPECT_EQ(*parseStringArray(R"(["a","b/"])"), (std::vector<std::string>{"a", "b/"}));
  EXPECT_FALSE(parseStringArray("[1]").isOk());
}

TEST(GoJson, EscapesLikeEncodingJson) {
  EXPECT_EQ(goJsonString("a\"\\\n\r\t\b\f\x01<>&\x7f"),
            "\"a\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u003c\\u003e\\u0026\x7f\"");
  EXPECT_EQ(goJsonString("\xff"
                         "a\xc3"),
            "\"\\ufffda\\ufffd\"");
  EXPECT_EQ(goJsonString("é\u2028"), "\"é\\u2028\"");
}

TEST(Base64, StdEncodingLikeGo) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(*base64Decode("Zm9vYg=="), "foob");
  EXPECT_EQ(*base64Decode("Zm9v\nYmE=\r\n"), "fooba");
  EXPECT_EQ(base64Decode("Zm9").status().message(), "illegal base64 data at input byte 0");
  EXPECT_EQ(base64Decode("Zm9vYm").status().message(), "illegal base64 data at input byte 4");
  EXPECT_EQ(base64Decode("Zm*v").status().message(), "illegal base64 data at input byte 2");
  EXPECT_FALSE(base64Decode("Zg==Zg==").isOk());
  EXPECT_FALSE(base64Decode("Z===").isOk());
}

}  // namespace
}  // namespace cairn::cli
