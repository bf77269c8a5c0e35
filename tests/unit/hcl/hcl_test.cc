#include "core/hcl/hcl.h"

#include <gtest/gtest.h>

#include <string>

namespace cairn::hcl {
namespace {

Value parseOk(std::string_view text) {
  auto parsed = parse(text, "test.hcl");
  EXPECT_TRUE(parsed.isOk()) << parsed.status().message();
  return parsed.isOk() ? std::move(parsed).value() : Value{};
}

std::string parseError(std::string_view text) {
  auto parsed = parse(text, "test.hcl");
  EXPECT_FALSE(parsed.isOk()) << text;
  return parsed.isOk() ? "" : parsed.status().message();
}

TEST(HclTest, AttributesOfEveryScalarKind) {
  Value v = parseOk(R"(
    name = "web"
    port = 8080
    ratio = -1.5e2
    mask = 0x1F
    enabled = true
    off = false
    nothing = null
  )");
  ASSERT_EQ(v.kind, Kind::kObject);
  EXPECT_EQ(v.find("name")->text, "web");
  EXPECT_TRUE(v.find("port")->is_integer);
  EXPECT_EQ(v.find("port")->integer, 8080);
  EXPECT_DOUBLE_EQ(v.find("ratio")->number, -150);
  EXPECT_FALSE(v.find("ratio")->is_integer);
  EXPECT_EQ(v.find("mask")->integer, 31);
  EXPECT_TRUE(v.find("enabled")->boolean);
  EXPECT_EQ(v.find("off")->kind, Kind::kBool);
  EXPECT_FALSE(v.find("off")->boolean);
  EXPECT_EQ(v.find("nothing")->kind, Kind::kNull);
  EXPECT_EQ(v.find("missing"), nullptr);
}

TEST(HclTest, PositionsOnEveryNode) {
  Value v = parseOk("a = 1\n  b = [\"x\",\n {c = true}]\n");
  const Entry& b = v.entries[1];
  EXPECT_EQ(b.key_pos.line, 2);
  EXPECT_EQ(b.key_pos.column, 3);
  EXPECT_EQ(b.value.pos.line, 2);
  EXPECT_EQ(b.value.pos.column, 7);
  EXPECT_EQ(b.value.items[0].pos.column, 8);
  const Value& inner = b.value.items[1];
  EXPECT_EQ(inner.pos.line, 3);
  EXPECT_EQ(inner.pos.column, 2);
  EXPECT_EQ(inner.entries[0].value.pos.column, 7);
}

TEST(HclTest, StringEscapes) {
  Value v = parseOk(R"(s = "a\"b\\c\n\t\u00e9\U0001F600/\/")");
  EXPECT_EQ(v.find("s")->text, "a\"b\\c\n\t\xC3\xA9\xF0\x9F\x98\x80//");
}

TEST(HclTest, BlocksWithLabelsNestAsObjects) {
  Value v = parseOk(R"(
    key_prefix "foo/" {
      policy = "read"
    }
    service "web" "extra" { policy = "write" }
    operator { policy = "deny" }
  )");
  const Value* prefix = v.find("key_prefix");
  ASSERT_NE(prefix, nullptr);
  ASSERT_EQ(prefix->kind, Kind::kObject);
  EXPECT_EQ(prefix->find("foo/")->find("policy")->text, "read");
  EXPECT_EQ(v.find("service")->find("web")->find("extra")->find("policy")->text, "write");
  EXPECT_EQ(v.find("operator")->find("policy")->text, "deny");
}

TEST(HclTest, RepeatedBlocksAreCollected) {
  Value v = parseOk(R"(
    key "a" { policy = "read" }
    key "b" { policy = "write" }
    key = [{ c = { policy = "deny" } }]
  )");
  auto blocks = v.blocks("key");
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_NE(blocks[0]->find("a"), nullptr);
  EXPECT_NE(blocks[1]->find("b"), nullptr);
  EXPECT_NE(blocks[2]->find("c"), nullptr);
  // find() keeps the last value, as HCL1's decoder does for a repeated attribute.
  EXPECT_EQ(v.find("key")->kind, Kind::kList);
}

TEST(HclTest, ListsAndNestedObjects) {
  Value v = parseOk(R"(
    ports = [1, 2, 3,]
    empty = []
    meta = { a = "x", "b c" = { d = [true] } }
  )");
  ASSERT_EQ(v.find("ports")->items.size(), 3u);
  EXPECT_EQ(v.find("ports")->items[2].integer, 3);
  EXPECT_TRUE(v.find("empty")->items.empty());
  EXPECT_TRUE(v.find("meta")->find("b c")->find("d")->items[0].boolean);
}

TEST(HclTest, Comments) {
  Value v = parseOk(R"(
    # hash
    a = 1 // slashes
    /* block
       spanning lines */ b = 2
  )");
  EXPECT_EQ(v.entries.size(), 2u);
  EXPECT_EQ(v.find("b")->integer, 2);
}

TEST(HclTest, Heredocs) {
  Value v = parseOk("a = <<EOF\nline one\n  line two\nEOF\nb = <<-END\n    x\n      y\n    END\n");
  EXPECT_EQ(v.find("a")->text, "line one\n  line two\n");
  EXPECT_EQ(v.find("b")->text, "x\n  y\n");
  EXPECT_EQ(v.find("b")->pos.line, 5);
  EXPECT_EQ(v.entries[1].key_pos.line, 5);
}

TEST(HclTest, HeredocHoldingJson) {
  Value v = parseOk("rules = <<EOT\n{\"key\": {\"a\": {\"policy\": \"read\"}}}\nEOT\n");
  EXPECT_EQ(v.find("rules")->text, "{\"key\": {\"a\": {\"policy\": \"read\"}}}\n");
}

TEST(HclTest, JsonDocumentsGiveTheSameTree) {
  Value json = parseOk(R"({"key_prefix": {"foo/": {"policy": "read"}}, "n": [1, 2.5]})");
  Value hcl = parseOk(R"(key_prefix "foo/" { policy = "read" }
                         n = [1, 2.5])");
  EXPECT_EQ(json.find("key_prefix")->find("foo/")->find("policy")->text, "read");
  EXPECT_EQ(hcl.find("key_prefix")->find("foo/")->find("policy")->text, "read");
  EXPECT_DOUBLE_EQ(json.find("n")->items[1].number, 2.5);
}

TEST(HclTest, EmptyDocumentsAreEmptyObjects) {
  EXPECT_TRUE(parseOk("").entries.empty());
  EXPECT_TRUE(parseOk("  # only a comment\n").entries.empty());
  EXPECT_TRUE(parseOk("{}").entries.empty());
}

TEST(HclTest, ErrorsSayWhereAndWhatWasExpected) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"a = ",
       "test.hcl:1:5: expected a value (a string, number, bool, list or object), found "
       "end of input"},
      {"a 1", "test.hcl:1:3: expected '=' or '{' after key \"a\", found number 1"},
      {"key \"x\" {\n  policy = \"read\"\n",
       "test.hcl:3:1: expected a key (an identifier or a "
       "string) or '}', found end of input"},
      {"a = \"open\nb = 1", "test.hcl:1:5: expected '\"' to close the string on its line"},
      {"a = [1 2]", "test.hcl:1:8: expected ',' or ']' in the list, found number 2"},
      {"a = \"\\q\"", "test.hcl:1:6: expected a valid escape"},
      {"a = \"\\u12\"", "test.hcl:1:6: expected 4 hexadecimal digits"},
      {"a = \"\\uD800\"", "test.hcl:1:6: expected a unicode escape of a valid code point"},
      {"a = <<EOF\nno end\n", "test.hcl:1:5: expected the heredoc's closing marker EOF"},
      {"a = <<EOF x\n", "test.hcl:1:10: expected a newline after the heredoc marker EOF"},
      {"/* open", "test.hcl:1:1: expected '*/' to close the comment"},
      {"a = 12ab", "test.hcl:1:5: expected a number, found 'a' inside it"},
      {"a = 1.", "test.hcl:1:5: expected digits after '.'"},
      {"a = yes", "test.hcl:1:5: expected a value"},
      {"{\"a\": 1} x", "test.hcl:1:10: expected end of input, found 'x'"},
      {"a = 1 }", "test.hcl:1:7: expected a key (an identifier or a string), found '}'"},
      {"@", "test.hcl:1:1: unexpected character '@'"},
      {"a = \x01", "test.hcl:1:5: unexpected character byte 0x01"},
  };
  for (const Case& c : cases) {
    std::string error = parseError(c.text);
    EXPECT_EQ(error.rfind(c.error, 0), 0u) << c.text << "\n  got: " << error;
  }
}

TEST(HclTest, DeepNestingIsRefusedNotCrashed) {
  std::string deep(10000, '[');
  std::string error = parseError("a = " + deep);
  EXPECT_NE(error.find("expected at most 64 levels of nesting"), std::string::npos) << error;
  std::string objects;
  for (int i = 0; i < 100; ++i) objects += "a {";
  EXPECT_NE(parseError(objects).find("levels of nesting"), std::string::npos);
}

TEST(HclTest, ErrorAtFormatsForDecoders) {
  Status s = errorAt("rules", Position{3, 7}, "expected \"read\", \"write\" or \"deny\"");
  EXPECT_EQ(s.message(), "rules:3:7: expected \"read\", \"write\" or \"deny\"");
}

}  // namespace
}  // namespace cairn::hcl
