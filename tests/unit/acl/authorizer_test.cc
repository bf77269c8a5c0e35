#include "core/acl/authorizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cairn::acl {
namespace {

Rules rules(std::string_view text) {
  auto parsed = parseRules(text);
  EXPECT_TRUE(parsed.isOk()) << parsed.status().message();
  return parsed.isOk() ? std::move(parsed).value() : Rules{};
}

struct Case {
  const char* what;
  std::vector<const char*> policies;  // the token's policies, each a rules text
  DefaultPolicy fallback;
  Resource resource;
  const char* name;
  Access required;
  bool allowed;
};

constexpr auto kAllow = DefaultPolicy::kAllow;
constexpr auto kDeny = DefaultPolicy::kDeny;
constexpr auto R = Access::kRead;
constexpr auto L = Access::kList;
constexpr auto W = Access::kWrite;

const Case kCases[] = {
    // Default policy when no rule applies.
    {"no rule, default deny", {}, kDeny, Resource::kKey, "a", R, false},
    {"no rule, default allow", {}, kAllow, Resource::kKey, "a", W, true},
    {"default allow never grants acl", {}, kAllow, Resource::kAcl, "", R, false},
    {"acl rule grants acl", {"acl = \"read\""}, kDeny, Resource::kAcl, "", R, true},
    {"acl read is not acl write", {"acl = \"read\""}, kAllow, Resource::kAcl, "", W, false},
    // What each level grants.
    {"read grants read", {"key \"a\" { policy = \"read\" }"}, kDeny, Resource::kKey, "a", R, true},
    {"read does not grant list",
     {"key \"a\" { policy = \"read\" }"},
     kAllow,
     Resource::kKey,
     "a",
     L,
     false},
    {"read does not grant write",
     {"key \"a\" { policy = \"read\" }"},
     kAllow,
     Resource::kKey,
     "a",
     W,
     false},
    {"list grants read",
     {"key_prefix \"a\" { policy = \"list\" }"},
     kDeny,
     Resource::kKey,
     "ab",
     R,
     true},
    {"list grants list",
     {"key_prefix \"a\" { policy = \"list\" }"},
     kDeny,
     Resource::kKey,
     "a",
     L,
     true},
    {"list does not grant write",
     {"key_prefix \"a\" { policy = \"list\" }"},
     kAllow,
     Resource::kKey,
     "a",
     W,
     false},
    {"write grants list",
     {"key_prefix \"\" { policy = \"write\" }"},
     kDeny,
     Resource::kKey,
     "x",
     L,
     true},
    {"deny stops default allow",
     {"key \"a\" { policy = \"deny\" }"},
     kAllow,
     Resource::kKey,
     "a",
     R,
     false},
    // Exact over longest prefix.
    {"exact beats prefix",
     {"key \"a/b\" { policy = \"read\" }\nkey_prefix \"a/\" { policy = "
      "\"write\" }"},
     kDeny,
     Resource::kKey,
     "a/b",
     W,
     false},
    {"prefix applies beside exact",
     {"key \"a/b\" { policy = \"read\" }\nkey_prefix \"a/\" { policy = \"write\" }"},
     kDeny,
     Resource::kKey,
     "a/bc",
     W,
     true},
    {"exact deny under prefix write",
     {"key_prefix \"\" { policy = \"write\" }\nkey \"secret\" { policy = \"deny\" }"},
     kDeny,
     Resource::kKey,
     "secret",
     R,
     false},
    {"exact read beats prefix deny",
     {"key_prefix \"\" { policy = \"deny\" }\nkey \"pub\" { policy = \"read\" }"},
     kDeny,
     Resource::kKey,
     "pub",
     R,
     true},
    {"longest prefix wins (deny deeper)",
     {"key_prefix \"app/\" { policy = \"write\" }\nkey_prefix \"app/secret/\" { policy = \"deny\" "
      "}"},
     kAllow,
     Resource::kKey,
     "app/secret/x",
     R,
     false},
    {"longest prefix wins (write deeper)",
     {"key_prefix \"app/\" { policy = \"deny\" }\nkey_prefix \"app/open/\" { policy = \"write\" "
      "}"},
     kDeny,
     Resource::kKey,
     "app/open/x",
     W,
     true},
    {"shorter prefix still applies",
     {"key_prefix \"app/\" { policy = \"deny\" }\nkey_prefix \"app/open/\" { policy = \"write\" "
      "}"},
     kAllow,
     Resource::kKey,
     "app/other",
     R,
     false},
    {"prefix does not cover a shorter name",
     {"key_prefix \"app/\" { policy = \"write\" }"},
     kDeny,
     Resource::kKey,
     "app",
     R,
     false},
    {"empty prefix covers everything",
     {"service_prefix \"\" { policy = \"read\" }"},
     kDeny,
     Resource::kService,
     "anything",
     R,
     true},
    // Among a token's policies: deny > write > list > read for the same segment.
    {"deny beats write across policies",
     {"key \"a\" { policy = \"write\" }", "key \"a\" { policy = \"deny\" }"},
     kAllow,
     Resource::kKey,
     "a",
     R,
     false},
    {"write beats read across policies",
     {"key \"a\" { policy = \"read\" }", "key \"a\" { policy = \"write\" }"},
     kDeny,
     Resource::kKey,
     "a",
     W,
     true},
    {"write beats list across policies",
     {"key_prefix \"a\" { policy = \"list\" }", "key_prefix \"a\" { policy = \"write\" }"},
     kDeny,
     Resource::kKey,
     "a",
     W,
     true},
    {"list beats read across policies",
     {"key_prefix \"a\" { policy = \"read\" }", "key_prefix \"a\" { policy = \"list\" }"},
     kDeny,
     Resource::kKey,
     "a",
     L,
     true},
    {"same policy twice: strongest",
     {"node \"n\" { policy = \"read\" }\nnode \"n\" { policy = "
      "\"deny\" }"},
     kAllow,
     Resource::kNode,
     "n",
     R,
     false},
    {"exact in one policy beats prefix in another",
     {"key_prefix \"\" { policy = \"write\" }", "key \"a\" { policy = \"read\" }"},
     kDeny,
     Resource::kKey,
     "a",
     W,
     false},
    // Resources are independent.
    {"key rule does not cover service",
     {"key_prefix \"\" { policy = \"write\" }"},
     kDeny,
     Resource::kService,
     "web",
     R,
     false},
    {"operator global", {"operator = \"read\""}, kDeny, Resource::kOperator, "", R, true},
    {"operator read is not write",
     {"operator = \"read\""},
     kAllow,
     Resource::kOperator,
     "",
     W,
     false},
    {"keyring deny", {"keyring = \"deny\""}, kAllow, Resource::kKeyring, "", R, false},
    {"agent exact",
     {"agent \"n1\" { policy = \"write\" }"},
     kDeny,
     Resource::kAgent,
     "n1",
     W,
     true},
    {"session prefix",
     {"session_prefix \"n\" { policy = \"write\" }"},
     kDeny,
     Resource::kSession,
     "n1",
     W,
     true},
    {"event prefix",
     {"event_prefix \"dep\" { policy = \"read\" }"},
     kDeny,
     Resource::kEvent,
     "deploy",
     R,
     true},
    {"query exact", {"query \"q\" { policy = \"read\" }"}, kDeny, Resource::kQuery, "q", R, true},
};

TEST(AuthorizerTest, PrecedenceTable) {
  for (const Case& c : kCases) {
    std::vector<Rules> parsed;
    for (const char* text : c.policies) parsed.push_back(rules(text));
    std::vector<const Rules*> pointers;
    for (const Rules& r : parsed) pointers.push_back(&r);
    auto authz = Authorizer::fromRules(pointers, c.fallback);
    EXPECT_EQ(authz->allowed(c.resource, c.name, c.required), c.allowed) << c.what;
  }
}

TEST(AuthorizerTest, ManagementMayDoAnything) {
  auto authz = Authorizer::management();
  EXPECT_TRUE(authz->isManagement());
  for (int r = 0; r < kResourceCount; ++r) {
    EXPECT_TRUE(authz->allowed(static_cast<Resource>(r), "x", Access::kWrite));
  }
  EXPECT_TRUE(authz->allowedPrefixWrite(Resource::kKey, ""));
}

TEST(AuthorizerTest, DefaultOnly) {
  EXPECT_TRUE(Authorizer::defaultOnly(kAllow)->allowed(Resource::kKey, "a", W));
  EXPECT_FALSE(Authorizer::defaultOnly(kAllow)->allowed(Resource::kAcl, "", W));
  EXPECT_FALSE(Authorizer::defaultOnly(kDeny)->allowed(Resource::kKey, "a", R));
  EXPECT_FALSE(Authorizer::defaultOnly(kDeny)->isManagement());
}

TEST(AuthorizerTest, PrefixWriteNeedsWriteOverTheWholeTree) {
  Rules r = rules(R"(
    key_prefix "app/" { policy = "write" }
    key "app/locked" { policy = "read" }
    key_prefix "other/" { policy = "write" }
    key_prefix "other/deep/" { policy = "write" }
  )");
  auto authz = Authorizer::fromRules({&r}, kDeny);
  EXPECT_FALSE(authz->allowedPrefixWrite(Resource::kKey, "app/"));   // app/locked is read
  EXPECT_TRUE(authz->allowedPrefixWrite(Resource::kKey, "app/x/"));  // nothing weaker below
  EXPECT_TRUE(authz->allowedPrefixWrite(Resource::kKey, "other/"));
  EXPECT_FALSE(authz->allowedPrefixWrite(Resource::kKey, ""));  // "" is not covered: deny
  auto lenient = Authorizer::fromRules({&r}, kAllow);
  EXPECT_FALSE(lenient->allowedPrefixWrite(Resource::kKey, ""));  // app/locked lies under ""
  EXPECT_TRUE(lenient->allowedPrefixWrite(Resource::kKey, "zzz/"));
}

TEST(AuthorizerTest, ParseDefaultPolicy) {
  EXPECT_EQ(*parseDefaultPolicy("allow"), kAllow);
  EXPECT_EQ(*parseDefaultPolicy("deny"), kDeny);
  EXPECT_FALSE(parseDefaultPolicy("Allow").isOk());
}

}  // namespace
}  // namespace cairn::acl
