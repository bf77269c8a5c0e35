#include "core/acl/rules.h"

#include <gtest/gtest.h>

#include <string>

namespace cairn::acl {
namespace {

Rules parseOk(std::string_view text) {
  auto parsed = parseRules(text);
  EXPECT_TRUE(parsed.isOk()) << parsed.status().message();
  return parsed.isOk() ? std::move(parsed).value() : Rules{};
}

std::string ruleString(const Rule& r) {
  return std::string(resourceName(r.resource)) + (r.prefix ? "_prefix" : "") + " \"" + r.segment +
         "\" " + accessName(r.access);
}

std::vector<std::string> ruleStrings(const Rules& rules) {
  std::vector<std::string> out;
  for (const Rule& r : rules.rules) out.push_back(ruleString(r));
  return out;
}

TEST(AclRulesTest, EveryResourceInHcl) {
  Rules rules = parseOk(R"(
    key "app/config" { policy = "write" }
    key_prefix "" { policy = "list" }
    service "web" { policy = "write" intentions = "read" }
    service_prefix "" { policy = "read" }
    node "n1" { policy = "deny" }
    node_prefix "" { policy = "read" }
    session "n1" { policy = "write" }
    session_prefix "" { policy = "read" }
    event "deploy" { policy = "write" }
    event_prefix "" { policy = "read" }
    agent "n1" { policy = "read" }
    agent_prefix "" { policy = "deny" }
    query "q" { policy = "write" }
    query_prefix "" { policy = "read" }
    acl = "read"
    operator = "write"
    keyring = "deny"
    mesh = "read"
    peering = "read"
  )");
  std::vector<std::string> expected = {
      "key \"app/config\" write",   "key_prefix \"\" list",     "service \"web\" write",
      "service_prefix \"\" read",   "node \"n1\" deny",         "node_prefix \"\" read",
      "session \"n1\" write",       "session_prefix \"\" read", "event \"deploy\" write",
      "event_prefix \"\" read",     "agent \"n1\" read",        "agent_prefix \"\" deny",
      "query \"q\" write",          "query_prefix \"\" read",   "acl_prefix \"\" read",
      "operator_prefix \"\" write", "keyring_prefix \"\" deny", "mesh_prefix \"\" read",
      "peering_prefix \"\" read"};
  EXPECT_EQ(ruleStrings(rules), expected);
}

TEST(AclRulesTest, JsonFormReadsLikeHcl) {
  Rules json = parseOk(R"({
    "key_prefix": {"foo/": {"policy": "read"}, "foo/private/": {"policy": "deny"}},
    "service": [{"web": {"policy": "write"}}, {"db": {"policy": "read"}}],
    "operator": "read"
  })");
  Rules hcl = parseOk(R"(
    key_prefix "foo/" { policy = "read" }
    key_prefix "foo/private/" { policy = "deny" }
    service "web" { policy = "write" }
    service "db" { policy = "read" }
    operator = "read"
  )");
  EXPECT_EQ(ruleStrings(json), ruleStrings(hcl));
  EXPECT_EQ(json.rules.size(), 5u);
}

TEST(AclRulesTest, EmptyRulesAreEmpty) {
  EXPECT_TRUE(parseOk("").rules.empty());
  EXPECT_TRUE(parseOk("{}").rules.empty());
  EXPECT_TRUE(parseOk("# nothing\n").rules.empty());
}

TEST(AclRulesTest, ErrorsSayLineAndWhatWasExpected) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"key \"a\" { policy = \"admin\" }",
       "rules:1:20: expected key policy \"read\", \"write\", \"list\", or \"deny\", found "
       "\"admin\""},
      {"service \"a\" { policy = \"list\" }",
       "rules:1:24: expected service policy \"read\", \"write\", or \"deny\", found \"list\""},
      {"\nkey_prefx \"a\" { policy = \"read\" }", "rules:2:1: expected a rule (key, key_prefix"},
      {"key \"a\" { polcy = \"read\" }",
       "rules:1:11: expected \"policy\" in key \"a\", found \"polcy\""},
      {"key \"a\" { }", "rules:1:9: expected policy = \"...\" in key \"a\""},
      {"operator { policy = \"read\" }",
       "rules:1:10: expected operator policy \"read\", \"write\", or \"deny\", found a object"},
      {"key = \"read\"", "rules:1:7: expected a block of key rules"},
      {"key \"a\" = 1", "rules:1:9: expected '=' or '{' after key \"key\", found '='"},
      {"key = { a = \"read\" }", "rules:1:13: expected { policy = ... } for key \"a\""},
      {"key \"a\" { policy = 1 }", "rules:1:20: expected key policy"},
      {"key \"a\" {\n policy = \"read\"\n", "rules:3:1: expected a key"},
      {"node \"x\" { policy = \"read\" intentions = \"read\" }",
       "rules:1:28: expected \"policy\" in node \"x\", found \"intentions\""},
  };
  for (const Case& c : cases) {
    auto parsed = parseRules(c.text);
    ASSERT_FALSE(parsed.isOk()) << c.text;
    EXPECT_EQ(parsed.status().message().rfind(c.error, 0), 0u)
        << c.text << "\n  got: " << parsed.status().message();
  }
}

TEST(AclRulesTest, IntentionsAloneAreAccepted) {
  EXPECT_TRUE(parseOk("service \"web\" { intentions = \"read\" }").rules.empty());
}

}  // namespace
}  // namespace cairn::acl
