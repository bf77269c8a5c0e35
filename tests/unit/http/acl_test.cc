// The HTTP side of ACLs: request bodies (acl_json), the per-route requirements and result filters
// (acl_enforcer), and the router guard over a real state store (token resolution, 403 shapes).
#include <gtest/gtest.h>

#include "core/acl/secrets.h"
#include "core/http/acl_enforcer.h"
#include "core/http/acl_json.h"
#include "core/http/acl_resolver.h"
#include "core/store/acl_apply.h"
#include "tests/unit/http/route_call.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::http {
namespace {

using acl::Access;
using acl::Resource;

TEST(AclJsonTest, TokenBodies) {
  auto t = decodeTokenRequest(R"({"Description": "ci", "Policies": [{"ID": "p1"},
      {"Name": "readers"}], "Roles": [{"Name": "ops"}], "Local": true, "ExpirationTTL": "1h"})");
  ASSERT_TRUE(t.isOk()) << t.status().message();
  EXPECT_EQ(t->description, "ci");
  ASSERT_EQ(t->policies.size(), 2u);
  EXPECT_EQ(t->policies[0].id, "p1");
  EXPECT_EQ(t->policies[1].name, "readers");
  EXPECT_EQ(t->roles.at(0).name, "ops");
  EXPECT_TRUE(t->local);
  EXPECT_EQ(t->expiration_ttl_ns, 3600'000'000'000);
  EXPECT_FALSE(t->accessor_id.has_value());

  auto empty = decodeTokenRequest("");
  ASSERT_TRUE(empty.isOk());
  EXPECT_TRUE(empty->policies.empty());

  struct Bad {
    const char* body;
    const char* error;
  };
  const Bad bad[] = {
      {"[1]", "Request decode failed: the body must be a JSON object"},
      {"{", "Request decode failed"},
      {R"({"Policies": [{}]})", "Policies must name each link by ID or by Name"},
      {R"({"Policies": "p1"})", "Request decode failed: Policies: expected a list"},
      {R"({"ExpirationTTL": "soon"})", "Request decode failed: ExpirationTTL"},
      {R"({"ExpirationTTL": "-1h"})", "Token Expiration TTL cannot be negative"},
      {R"({"ExpirationTime": "tomorrow"})", "invalid time \"tomorrow\""},
      {R"({"ExpirationTTL": "1h", "ExpirationTime": "2030-01-01T00:00:00Z"})",
       "Expiration TTL and Expiration Time cannot both be set"},
      {R"({"ServiceIdentities": [{"ServiceName": "web"}]})", "ServiceIdentities are not supported"},
      {R"({"Local": "yes"})", "Request decode failed: Local: expected a boolean"},
  };
  for (const Bad& b : bad) {
    auto r = decodeTokenRequest(b.body);
    ASSERT_FALSE(r.isOk()) << b.body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(b.error, 0), 0u)
        << b.body << "\n  got: " << r.status().message();
  }
}

TEST(AclJsonTest, PolicyBodiesValidateNameAndRules) {
  auto p = decodePolicyRequest(
      R"({"Name": "kv-read", "Rules": "key_prefix \"\" { policy = \"read\" }",
          "Datacenters": ["dc1"]})");
  ASSERT_TRUE(p.isOk()) << p.status().message();
  EXPECT_EQ(p->datacenters.at(0), "dc1");
  auto bad_name = decodePolicyRequest(R"({"Name": "has space"})");
  ASSERT_FALSE(bad_name.isOk());
  EXPECT_NE(bad_name.status().message().find("invalid Name"), std::string::npos);
  auto bad_rules = decodePolicyRequest(R"({"Name": "x", "Rules": "key \"a\" {\n policy = 1 }"})");
  ASSERT_FALSE(bad_rules.isOk());
  EXPECT_EQ(bad_rules.status().message(),
            "Invalid Policy: failed to parse rules: rules:2:11: expected key policy \"read\", "
            "\"write\", \"list\", or \"deny\", found a number");
  EXPECT_TRUE(decodeRoleRequest(R"({"Name": "ops", "Policies": [{"ID": "x"}]})").isOk());
  EXPECT_FALSE(decodeRoleRequest(R"({"Name": ""})").isOk());
}

TEST(AclJsonTest, Rfc3339) {
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(1'500'000'000'123'000'000), "2017-07-14T02:40:00.123Z");
  EXPECT_EQ(*parseRfc3339("2017-07-14T02:40:00.123Z"), 1'500'000'000'123'000'000);
  EXPECT_EQ(*parseRfc3339("2017-07-14T04:40:00+02:00"), 1'500'000'000'000'000'000);
  for (const char* bad : {"2017-07-14", "2017-07-14T02:40:00", "2017-13-14T02:40:00Z",
                          "2017-07-14T02:40:00.Z", "2017-07-14T02:40:00+2:00", ""}) {
    EXPECT_FALSE(parseRfc3339(bad).isOk()) << bad;
  }
}

TEST(AclSecretsTest, UuidsAndComparison) {
  std::string a = acl::randomUuid();
  EXPECT_EQ(a.size(), 36u);
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, acl::randomUuid());
  EXPECT_TRUE(acl::constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(acl::constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(acl::constantTimeEquals("abc", "abcd"));
  EXPECT_EQ(acl::sha256("").size(), 32u);
}

HttpRequest request(std::string method, std::string path, std::string query = "",
                    std::string body = "") {
  HttpRequest r;
  r.method = std::move(method);
  r.path = std::move(path);
  r.query = QueryParams::parse(query);
  r.body = std::move(body);
  return r;
}

class AclGuardTest : public store::testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    settings_.enabled = true;
    settings_.default_policy = acl::DefaultPolicy::kDeny;
    settings_.initial_management = "mgmt-secret";
  }

  void applyCommand(const v1::Command& cmd) {
    store::LogEntry entry{store_->appliedIndex() + 1, &cmd};
    ASSERT_TRUE(store_->apply(std::span(&entry, 1), false).at(0).ok);
  }

  // A policy `id` with `rules`, and a token `secret` holding it.
  void tokenWith(const std::string& id, const std::string& rules, const std::string& secret) {
    v1::Command p;
    p.mutable_acl_policy_set()->mutable_policy()->set_id(id);
    p.mutable_acl_policy_set()->mutable_policy()->set_name(id);
    p.mutable_acl_policy_set()->mutable_policy()->set_rules(rules);
    p.mutable_acl_policy_set()->set_create(true);
    applyCommand(p);
    v1::Command t;
    v1::AclToken* token = t.mutable_acl_token_set()->mutable_token();
    token->set_accessor_id("accessor-" + secret);
    token->set_secret_id(secret);
    token->add_policies()->set_id(id);
    t.mutable_acl_token_set()->set_create(true);
    applyCommand(t);
  }

  // A router with fake routes answering `body`, guarded by the ACLs.
  Router router(const AclResolver& resolver, std::string body = "\"ok\"") {
    Router r;
    for (const char* path : {"/v1/kv/", "/v1/operator/raft/configuration", "/v1/snapshot",
                             "/v1/catalog/services", "/v1/not-declared"}) {
      r.add(Route{path,
                  std::string(path).ends_with("/"),
                  {"GET", "PUT", "DELETE"},
                  [body](RequestPtr, Responder respond) { respond(jsonResponse(body)); }});
    }
    r.setGuard(aclGuard(resolver, *store_, "node-1"));
    return r;
  }

  HttpResponse call(const Router& r, std::string method, std::string path, std::string token) {
    return testing::callRoute(r, std::move(method), std::move(path),
                              token.empty() ? "" : "token=" + token);
  }

  AclSettings settings_;
};

TEST_F(AclGuardTest, TokensDecideAndDenialsSayWhatWasMissing) {
  tokenWith("p-read", "key_prefix \"app/\" { policy = \"read\" }", "read-secret");
  AclResolver resolver(*store_, settings_);
  Router r = router(resolver);

  HttpResponse anonymous = call(r, "GET", "/v1/kv/app/x", "");
  EXPECT_EQ(anonymous.status, 403);
  EXPECT_EQ(anonymous.body,
            "Permission denied: anonymous token lacks permission 'key:read' on \"app/x\"");
  EXPECT_EQ(call(r, "GET", "/v1/kv/app/x", "read-secret").status, 200);
  HttpResponse write = call(r, "PUT", "/v1/kv/app/x", "read-secret");
  EXPECT_EQ(write.status, 403);
  EXPECT_EQ(write.body,
            "Permission denied: token with AccessorID 'accessor-read-secret' lacks permission "
            "'key:write' on \"app/x\"");
  HttpResponse op = call(r, "GET", "/v1/operator/raft/configuration", "read-secret");
  EXPECT_EQ(op.body,
            "Permission denied: token with AccessorID 'accessor-read-secret' lacks permission "
            "'operator:read'");
  EXPECT_EQ(call(r, "GET", "/v1/snapshot", "read-secret").status, 403);
  EXPECT_EQ(call(r, "GET", "/v1/not-declared", "read-secret").status, 403);

  HttpResponse unknown = call(r, "GET", "/v1/kv/app/x", "no-such-secret");
  EXPECT_EQ(unknown.status, 403);
  EXPECT_EQ(unknown.body, "ACL not found");
  EXPECT_EQ(unknown.body.find("no-such-secret"), std::string::npos);

  for (const char* path : {"/v1/kv/anything", "/v1/snapshot", "/v1/not-declared"}) {
    EXPECT_EQ(call(r, "DELETE", path, "mgmt-secret").status, 200) << path;
  }
}

TEST_F(AclGuardTest, EveryTokenHeaderIsRead) {
  tokenWith("p-read", "key_prefix \"\" { policy = \"read\" }", "read-secret");
  AclResolver resolver(*store_, settings_);
  HttpRequest with_header = request("GET", "/v1/kv/a");
  with_header.headers["x-consul-token"] = "read-secret";
  EXPECT_EQ(requestToken(with_header), "read-secret");
  HttpRequest bearer = request("GET", "/v1/kv/a");
  bearer.headers["authorization"] = "Bearer read-secret";
  EXPECT_EQ(requestToken(bearer), "read-secret");
  EXPECT_EQ(requestToken(request("GET", "/v1/kv/a", "token=read-secret")), "read-secret");
  EXPECT_EQ(requestToken(request("GET", "/v1/kv/a")), "");
  auto caller = resolver.resolve("read-secret");
  ASSERT_TRUE(caller.isOk());
  EXPECT_TRUE(caller->authz->allowed(Resource::kKey, "x", Access::kRead));
}

TEST_F(AclGuardTest, DeletedAndExpiredTokensAreNotFound) {
  tokenWith("p-read", "key_prefix \"\" { policy = \"read\" }", "read-secret");
  int64_t now_ns = 1'000'000'000'000'000'000;
  AclResolver resolver(*store_, settings_, [&] {
    return std::chrono::system_clock::time_point(std::chrono::nanoseconds(now_ns));
  });
  v1::Command expiring;
  v1::AclToken* t = expiring.mutable_acl_token_set()->mutable_token();
  t->set_accessor_id("exp");
  t->set_secret_id("exp-secret");
  t->set_expiration_time_unix_ns(now_ns + 10);
  expiring.mutable_acl_token_set()->set_create(true);
  applyCommand(expiring);
  EXPECT_TRUE(resolver.resolve("exp-secret").isOk());
  now_ns += 10;
  EXPECT_FALSE(resolver.resolve("exp-secret").isOk());

  v1::Command del;
  del.mutable_acl_token_delete()->set_accessor_id("accessor-read-secret");
  applyCommand(del);
  auto gone = resolver.resolve("read-secret");
  ASSERT_FALSE(gone.isOk());
  EXPECT_EQ(gone.status().message(), "ACL not found");
}

TEST_F(AclGuardTest, PolicyChangesApplyToTheNextRequest) {
  tokenWith("p", "key \"a\" { policy = \"read\" }", "s");
  AclResolver resolver(*store_, settings_);
  EXPECT_FALSE(resolver.resolve("s")->authz->allowed(Resource::kKey, "a", Access::kWrite));
  v1::Command update;
  update.mutable_acl_policy_set()->mutable_policy()->set_id("p");
  update.mutable_acl_policy_set()->mutable_policy()->set_name("p");
  update.mutable_acl_policy_set()->mutable_policy()->set_rules("key \"a\" { policy = \"write\" }");
  applyCommand(update);
  EXPECT_TRUE(resolver.resolve("s")->authz->allowed(Resource::kKey, "a", Access::kWrite));
}

TEST_F(AclGuardTest, ListsAreFilteredAndMarked) {
  tokenWith("p", "service \"web\" { policy = \"read\" }", "s");
  AclResolver resolver(*store_, settings_);
  Router r = router(resolver, R"({"web": ["v1"], "db": [], "consul": []})");
  HttpResponse filtered = call(r, "GET", "/v1/catalog/services", "s");
  EXPECT_EQ(filtered.status, 200);
  EXPECT_EQ(filtered.body, R"({"web":["v1"]})");
  bool marked = false;
  for (const auto& [name, value] : filtered.headers) {
    marked |= name == "X-Consul-Results-Filtered-By-ACLs" && value == "true";
  }
  EXPECT_TRUE(marked);
  HttpResponse all = call(r, "GET", "/v1/catalog/services", "mgmt-secret");
  EXPECT_EQ(all.body, R"({"web": ["v1"], "db": [], "consul": []})");  // untouched
  EXPECT_TRUE(all.headers.empty());
}

TEST_F(AclGuardTest, DnsUsesTheDefaultTokenElseAnonymous) {
  tokenWith("p-dns", "service_prefix \"\" { policy = \"read\" }", "dns-secret");
  AclResolver anonymous(*store_, settings_);
  EXPECT_FALSE(anonymous.dnsAuthorizer()->allowed(Resource::kService, "web", Access::kRead));
  settings_.default_token = "dns-secret";
  AclResolver with_default(*store_, settings_);
  EXPECT_TRUE(with_default.dnsAuthorizer()->allowed(Resource::kService, "web", Access::kRead));
  EXPECT_FALSE(with_default.dnsAuthorizer()->allowed(Resource::kNode, "n", Access::kRead));
  v1::Command del;
  del.mutable_acl_token_delete()->set_accessor_id("accessor-dns-secret");
  applyCommand(del);
  // A configured token that is gone may read nothing (not even what the default policy allows).
  settings_.default_policy = acl::DefaultPolicy::kAllow;
  AclResolver gone(*store_, settings_);
  EXPECT_FALSE(gone.dnsAuthorizer()->allowed(Resource::kService, "web", Access::kRead));
  settings_.enabled = false;
  AclResolver off(*store_, settings_);
  EXPECT_TRUE(off.dnsAuthorizer()->isManagement());
}

TEST_F(AclGuardTest, FingerprintsMoveWithTheTokenAndItsPolicies) {
  tokenWith("p", "key \"a\" { policy = \"read\" }", "s");
  tokenWith("q", "key \"b\" { policy = \"read\" }", "t");
  AclResolver resolver(*store_, settings_);
  std::string before = resolver.fingerprint("s");
  EXPECT_EQ(resolver.fingerprint("mgmt-secret"), "management");
  v1::Command other;  // another policy changes: no move
  other.mutable_acl_policy_set()->mutable_policy()->set_id("q");
  other.mutable_acl_policy_set()->mutable_policy()->set_name("q");
  other.mutable_acl_policy_set()->mutable_policy()->set_rules("key \"c\" { policy = \"read\" }");
  applyCommand(other);
  EXPECT_EQ(resolver.fingerprint("s"), before);
  v1::Command mine = other;
  mine.mutable_acl_policy_set()->mutable_policy()->set_id("p");
  mine.mutable_acl_policy_set()->mutable_policy()->set_name("p");
  applyCommand(mine);
  std::string changed = resolver.fingerprint("s");
  EXPECT_NE(changed, before);
  v1::Command del;
  del.mutable_acl_token_delete()->set_accessor_id("accessor-s");
  applyCommand(del);
  EXPECT_EQ(resolver.fingerprint("s"), "none");
}

TEST_F(AclGuardTest, DefaultAllowStillProtectsAcls) {
  settings_.default_policy = acl::DefaultPolicy::kAllow;
  AclResolver resolver(*store_, settings_);
  auto anonymous = resolver.resolve("");
  ASSERT_TRUE(anonymous.isOk());
  EXPECT_TRUE(anonymous->anonymous);
  EXPECT_TRUE(anonymous->authz->allowed(Resource::kKey, "x", Access::kWrite));
  EXPECT_FALSE(anonymous->authz->allowed(Resource::kAcl, "", Access::kRead));
}

TEST(AclEnforcerTest, RequirementsFromTheRequest) {
  struct Case {
    const char* pattern;
    HttpRequest req;
    std::vector<std::string> expected;  // "<resource>:<access>:<name>[:tree]"
  };
  auto show = [](const Requirement& r) {
    std::vector<std::string> out;
    for (const Permission& p : r.permissions) {
      out.push_back(std::string(acl::resourceName(p.resource)) + ":" + acl::accessName(p.access) +
                    ":" + p.name + (p.whole_prefix ? ":tree" : ""));
    }
    if (r.management) out.push_back("management");
    return out;
  };
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("cairn-acl-req-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto db = storage::RocksDb::open(dir.string());
  ASSERT_TRUE(db.isOk());
  store::WatchHub hub;
  store::StateStore store(**db, hub);
  const Case cases[] = {
      {"/v1/kv/", request("GET", "/v1/kv/a/b"), {"key:read:a/b"}},
      {"/v1/kv/", request("PUT", "/v1/kv/a/b"), {"key:write:a/b"}},
      {"/v1/kv/", request("DELETE", "/v1/kv/a/", "recurse"), {"key:write:a/:tree"}},
      {"/v1/kv/", request("GET", "/v1/kv/a/", "recurse"), {}},
      {"/v1/txn",
       request("PUT", "/v1/txn", "",
               R"([{"KV": {"Verb": "get", "Key": "r"}}, {"KV": {"Verb": "set", "Key": "w"}},
                  {"KV": {"Verb": "delete-tree", "Key": "t/"}}])"),
       {"key:read:r", "key:write:w", "key:write:t/:tree"}},
      {"/v1/txn", request("PUT", "/v1/txn", "", "not json"), {}},
      {"/v1/catalog/register",
       request("PUT", "/v1/catalog/register", "",
               R"({"Node": "n1", "Address": "10.0.0.1", "Service": {"Service": "web"}})"),
       {"node:write:n1", "service:write:web"}},
      {"/v1/catalog/service/", request("GET", "/v1/catalog/service/web"), {"service:read:web"}},
      {"/v1/agent/self", request("GET", "/v1/agent/self"), {"agent:read:node-1"}},
      {"/v1/agent/maintenance", request("PUT", "/v1/agent/maintenance"), {"node:write:node-1"}},
      {"/v1/agent/service/register",
       request("PUT", "/v1/agent/service/register", "", R"({"Name": "api"})"),
       {"service:write:api"}},
      {"/v1/session/create",
       request("PUT", "/v1/session/create", "", "{}"),
       {"session:write:node-1"}},
      {"/v1/event/fire/", request("PUT", "/v1/event/fire/deploy"), {"event:write:deploy"}},
      {"/v1/operator/autopilot/configuration",
       request("PUT", "/v1/operator/autopilot/configuration"),
       {"operator:write:"}},
      {"/v1/snapshot", request("GET", "/v1/snapshot"), {"management"}},
      {"/v1/acl/token/", request("GET", "/v1/acl/token/self"), {}},
      {"/v1/acl/token/", request("GET", "/v1/acl/token/abc"), {"acl:read:"}},
      {"/v1/acl/policy", request("PUT", "/v1/acl/policy"), {"acl:write:"}},
      {"/v1/brand-new", request("GET", "/v1/brand-new"), {"management"}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(show(requirementFor(c.pattern, c.req, "node-1", store)), c.expected)
        << c.req.method << " " << c.req.path;
  }
  EXPECT_TRUE(requirementFor("/v1/acl/bootstrap", request("PUT", "/v1/acl/bootstrap"), "n", store)
                  .token_optional);
  std::filesystem::remove_all(dir);
}

TEST(AclEnforcerTest, FiltersByShape) {
  acl::Rules rules = *acl::parseRules(R"(
    key_prefix "pub/" { policy = "read" }
    node "n1" { policy = "read" }
    service "web" { policy = "read" }
    session_prefix "n1" { policy = "read" }
    event "deploy" { policy = "read" }
  )");
  auto authz = acl::Authorizer::fromRules({&rules}, acl::DefaultPolicy::kDeny);
  struct Case {
    ResultFilter filter;
    std::string in;
    std::string out;  // "" when nothing is removed
  };
  const Case cases[] = {
      {ResultFilter::kKvEntries, R"([{"Key":"pub/a"},{"Key":"priv/b"}])", R"([{"Key":"pub/a"}])"},
      {ResultFilter::kKvKeys, R"(["pub/a","priv/b"])", R"(["pub/a"])"},
      {ResultFilter::kNodes, R"([{"Node":"n1"},{"Node":"n2"}])", R"([{"Node":"n1"}])"},
      {ResultFilter::kServiceNodes,
       R"([{"Node":"n1","ServiceName":"web"},{"Node":"n2","ServiceName":"web"}])",
       R"([{"Node":"n1","ServiceName":"web"}])"},
      {ResultFilter::kHealthEntries,
       R"([{"Node":{"Node":"n1"},"Service":{"Service":"web"}},{"Node":{"Node":"n1"},"Service":{"Service":"db"}}])",
       R"([{"Node":{"Node":"n1"},"Service":{"Service":"web"}}])"},
      {ResultFilter::kChecks,
       R"([{"Node":"n1","ServiceName":""},{"Node":"n1","ServiceName":"db"}])",
       R"([{"Node":"n1","ServiceName":""}])"},
      {ResultFilter::kSessions, R"([{"Node":"n1"},{"Node":"n2"}])", R"([{"Node":"n1"}])"},
      {ResultFilter::kEvents, R"([{"Name":"deploy"},{"Name":"other"}])", R"([{"Name":"deploy"}])"},
      {ResultFilter::kAgentServices, R"({"a":{"Service":"web"},"b":{"Service":"db"}})",
       R"({"a":{"Service":"web"}})"},
      {ResultFilter::kMembers, R"([{"Name":"n1"}])", ""},
  };
  for (const Case& c : cases) {
    std::string body = c.in;
    bool removed = filterResults(c.filter, *authz, "n1", &body);
    EXPECT_EQ(removed, !c.out.empty()) << c.in;
    EXPECT_EQ(body, c.out.empty() ? c.in : c.out) << c.in;
  }
}

}  // namespace
}  // namespace cairn::http
