// /v1/query: the JSON codec and the handlers (create, read, list, update, delete, execute,
// explain, ACLs) against a Node that applies proposals to a real state store at once.
#include <gtest/gtest.h>

#include <regex>

#include "core/acl/authorizer.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/http/prepared_query_json.h"
#include "tests/unit/http/applying_node.h"
#include "tests/unit/http/route_call.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::http {
namespace {

TEST(PreparedQueryJsonTest, DecodesConsulsShapeCaseInsensitively) {
  auto q = decodePreparedQuery(R"({
    "Name": "my-query", "session": "s", "Token": "t",
    "Service": {"Service": "redis", "Failover": {"NearestN": 3, "Datacenters": ["dc1", "dc2"]},
                "OnlyPassing": true, "IgnoreCheckIDs": ["c1"], "Near": "_agent",
                "Tags": ["primary", "!experimental"], "NodeMeta": {"instance_type": "m3.large"},
                "ServiceMeta": {"environment": "production"}, "Connect": {"Enabled": false}},
    "DNS": {"TTL": "10s"},
    "Template": {"Type": "name_prefix_match", "Regexp": "^x$", "RemoveEmptyTags": true},
    "Unknown": 1})");
  ASSERT_TRUE(q.isOk()) << q.status().toString();
  EXPECT_EQ(q->name(), "my-query");
  EXPECT_EQ(q->session(), "s");
  EXPECT_EQ(q->service().failover().nearest_n(), 3);
  EXPECT_EQ(q->service().failover().datacenters_size(), 2);
  EXPECT_TRUE(q->service().only_passing());
  EXPECT_EQ(q->service().tags(1), "!experimental");
  EXPECT_EQ(q->service().node_meta().at("instance_type"), "m3.large");
  EXPECT_EQ(q->dns_ttl(), "10s");
  EXPECT_EQ(q->template_().regexp(), "^x$");
  EXPECT_TRUE(q->template_().remove_empty_tags());
}

TEST(PreparedQueryJsonTest, BadBodiesAreDecodeErrors) {
  for (const char* body :
       {"", "[]", "{", R"({"Service": "web"})", R"({"Name": 1})", R"({"Service": {"Tags": "a"}})",
        R"({"Service": {"OnlyPassing": "y"}})", R"({"DNS": {"TTL": 5}})",
        R"({"Service": {"Failover": {"NearestN": 1.5}}})"}) {
    auto q = decodePreparedQuery(body);
    ASSERT_FALSE(q.isOk()) << body;
    EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_EQ(q.status().message().rfind("Request decode failed: ", 0), 0u) << body;
  }
}

class PreparedQueryHandlersTest : public store::testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    node_ = std::make_unique<testing::ApplyingNode>(*store_);
    ctx_ = std::make_unique<ApiContext>(
        ApiContext{*node_, *store_, hub_, timers_, slow_work_, metrics_, AgentInfo{}});
    ctx_->agent.node_name = "agent-node";
    ctx_->agent.datacenter = "dc1";
    addPreparedQueryRoutes(router_, *ctx_);
    addSessionRoutes(router_, *ctx_);
    router_.setGuard([this](const Route&, const HttpRequest& req, Responder&) {
      req.authz = authz_;  // what the ACL guard would set; null: ACLs disabled
      return std::optional<HttpResponse>();
    });
  }

  HttpResponse call(std::string method, std::string path, std::string body = "",
                    std::string query = "") {
    return testing::callRoute(router_, std::move(method), std::move(path), std::move(query),
                              std::move(body));
  }

  std::string create(const std::string& body) {
    HttpResponse r = call("POST", "/v1/query", body);
    EXPECT_EQ(r.status, 200) << r.body;
    std::smatch m;
    std::regex id(R"re(\{"ID":"([0-9a-f-]{36})"\})re");
    EXPECT_TRUE(std::regex_match(r.body, m, id)) << r.body;
    return m.size() > 1 ? m[1].str() : "";
  }

  void registerInstance(const std::string& node, const std::string& id, const std::string& status,
                        const std::string& tag = "") {
    v1::Command cmd;
    auto* r = cmd.mutable_catalog_register();
    r->mutable_node()->set_node(node);
    r->mutable_node()->set_address("10.0.0." + std::to_string(node.size()));
    r->mutable_service()->set_service("db");
    r->mutable_service()->set_id(id);
    r->mutable_service()->set_port(5432);
    if (!tag.empty()) r->mutable_service()->add_tags(tag);
    auto* c = r->add_checks();
    c->set_check_id("chk-" + id);
    c->set_name("chk");
    c->set_status(status);
    c->set_service_id(id);
    store::LogEntry entry{store_->appliedIndex() + 1, &cmd};
    ASSERT_TRUE(store_->apply(std::span(&entry, 1), false)[0].ok);
  }

  static web::json::value json(const HttpResponse& r) {
    auto v = parseJson(r.body);
    EXPECT_TRUE(v.isOk()) << r.body;
    return v.isOk() ? *v : web::json::value();
  }

  void useRules(const std::string& text) {
    rules_ = *acl::parseRules(text);
    authz_ = acl::Authorizer::fromRules({&rules_}, acl::DefaultPolicy::kDeny);
  }

  TimerQueue timers_;
  SerialWorker slow_work_;
  metrics::Metrics metrics_{"test", "test"};
  std::unique_ptr<testing::ApplyingNode> node_;
  std::unique_ptr<ApiContext> ctx_;
  Router router_;
  acl::Rules rules_;
  std::shared_ptr<const acl::Authorizer> authz_;
};

TEST_F(PreparedQueryHandlersTest, CreateGetListUpdateDelete) {
  std::string id = create(R"({"Name": "db-q", "Token": "secret", "Service": {"Service": "db"},)"
                          R"( "DNS": {"TTL": "10s"}})");
  HttpResponse got = call("GET", "/v1/query/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  web::json::value one = json(got);
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].at("ID").as_string(), id);
  EXPECT_EQ(one[0].at("Name").as_string(), "db-q");
  EXPECT_EQ(one[0].at("Token").as_string(), "secret");  // ACLs disabled: shown
  EXPECT_EQ(one[0].at("Service").at("Service").as_string(), "db");
  EXPECT_EQ(one[0].at("DNS").at("TTL").as_string(), "10s");
  EXPECT_TRUE(one[0].at("Service").at("Tags").is_null());
  EXPECT_EQ(testing::headerValue(got, "X-Consul-Index"), std::to_string(store_->appliedIndex()));

  HttpResponse updated =
      call("PUT", "/v1/query/" + id, R"({"Name": "db-q2", "Service": {"Service": "db"}})");
  EXPECT_EQ(updated.status, 200) << updated.body;
  web::json::value all = json(call("GET", "/v1/query"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].at("Name").as_string(), "db-q2");

  EXPECT_EQ(call("DELETE", "/v1/query/" + id).status, 200);
  HttpResponse gone = call("GET", "/v1/query/" + id);
  EXPECT_EQ(gone.status, 404);
  EXPECT_EQ(gone.body, "Query not found");
  EXPECT_EQ(call("DELETE", "/v1/query/" + id).status, 404);
  HttpResponse missing =
      call("PUT", "/v1/query/" + id, R"({"Name": "x", "Service": {"Service": "db"}})");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "Cannot modify non-existent prepared query: '" + id + "'");
  EXPECT_EQ(json(call("GET", "/v1/query")).size(), 0u);
}

TEST_F(PreparedQueryHandlersTest, InvalidBodiesAre400WithAClearMessage) {
  HttpResponse r = call("POST", "/v1/query", R"({"Name": "x"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Must provide a Service name to query");
  r = call("POST", "/v1/query", R"({"Service": {"Service": "db"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Must be bound to a session");
  r = call("POST", "/v1/query", "not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body.rfind("Request decode failed: ", 0), 0u);
  create(R"({"Name": "dup", "Service": {"Service": "db"}})");
  r = call("POST", "/v1/query", R"({"Name": "DUP", "Service": {"Service": "db"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Name 'DUP' aliases an existing query name");
  r = call("POST", "/v1/query", R"({"Session": "nope", "Service": {"Service": "db"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, "Invalid session \"nope\"");
  EXPECT_EQ(call("PUT", "/v1/query/x/execute").status, 405);
  EXPECT_EQ(call("GET", "/v1/query/").status, 400);
  EXPECT_EQ(call("GET", "/v1/query/dup/execute", "", "limit=x").status, 400);
}

TEST_F(PreparedQueryHandlersTest, ExecuteReturnsCheckServiceNodes) {
  registerInstance("n1", "db1", "passing", "primary");
  registerInstance("n22", "db2", "warning");
  registerInstance("n333", "db3", "critical");
  create(R"({"Name": "db", "Service": {"Service": "db"}, "DNS": {"TTL": "5s"}})");
  HttpResponse r = call("GET", "/v1/query/db/execute");
  ASSERT_EQ(r.status, 200) << r.body;
  web::json::value v = json(r);
  EXPECT_EQ(v.at("Service").as_string(), "db");
  EXPECT_EQ(v.at("Datacenter").as_string(), "dc1");
  EXPECT_EQ(v.at("Failovers").as_integer(), 0);
  EXPECT_EQ(v.at("DNS").at("TTL").as_string(), "5s");
  ASSERT_EQ(v.at("Nodes").size(), 2u);  // the critical one is dropped
  for (const auto& n : v.at("Nodes").as_array()) {
    EXPECT_TRUE(n.has_field("Node") && n.has_field("Service") && n.has_field("Checks"));
    EXPECT_EQ(n.at("Service").at("Port").as_integer(), 5432);
  }
  EXPECT_EQ(json(call("GET", "/v1/query/db/execute", "", "limit=1")).at("Nodes").size(), 1u);
  for (int i = 0; i < 5; ++i) {
    web::json::value near = json(call("GET", "/v1/query/db/execute", "", "near=n22"));
    EXPECT_EQ(near.at("Nodes")[0].at("Node").at("Node").as_string(), "n22");
  }
  HttpResponse missing = call("GET", "/v1/query/nothing/execute");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body, "Query not found");
}

TEST_F(PreparedQueryHandlersTest, TemplatesExecuteAndExplainForTheRequestedName) {
  registerInstance("n1", "db1", "passing", "primary");
  create(R"({"Name": "geo-", "Template": {"Type": "name_prefix_match",)"
         R"( "Regexp": "^geo-(.+?)-(.+)$"}, "Service": {"Service": "${match(1)}",)"
         R"( "Tags": ["${match(2)}"]}})");
  web::json::value run = json(call("GET", "/v1/query/geo-db-primary/execute"));
  EXPECT_EQ(run.at("Service").as_string(), "db");
  EXPECT_EQ(run.at("Nodes").size(), 1u);
  EXPECT_EQ(json(call("GET", "/v1/query/geo-db-replica/execute")).at("Nodes").size(), 0u);
  web::json::value explained = json(call("GET", "/v1/query/geo-db-primary/explain"));
  EXPECT_EQ(explained.at("Query").at("Service").at("Service").as_string(), "db");
  EXPECT_EQ(explained.at("Query").at("Service").at("Tags")[0].as_string(), "primary");
  EXPECT_EQ(explained.at("Query").at("Name").as_string(), "geo-");
  EXPECT_EQ(call("GET", "/v1/query/other/explain").status, 404);
}

TEST_F(PreparedQueryHandlersTest, SessionBoundQueryGoesWithTheSession) {
  v1::Command node;
  node.mutable_catalog_register()->mutable_node()->set_node("agent-node");
  node.mutable_catalog_register()->mutable_node()->set_address("127.0.0.1");
  store::LogEntry entry{store_->appliedIndex() + 1, &node};
  ASSERT_TRUE(store_->apply(std::span(&entry, 1), false)[0].ok);
  HttpResponse s = call("PUT", "/v1/session/create", R"({"Checks": []})");
  ASSERT_EQ(s.status, 200) << s.body;
  std::string session = json(s).at("ID").as_string();
  std::string id = create(R"({"Session": ")" + session + R"(", "Service": {"Service": "db"}})");
  EXPECT_EQ(call("GET", "/v1/query/" + id).status, 200);
  EXPECT_EQ(call("PUT", "/v1/session/destroy/" + session).status, 200);
  EXPECT_EQ(call("GET", "/v1/query/" + id).status, 404);
}

TEST_F(PreparedQueryHandlersTest, AclRulesAsConsul) {
  std::string mine =
      create(R"({"Name": "team-a-db", "Token": "tok", "Service": {"Service": "db"}})");
  std::string theirs = create(R"({"Name": "team-b-db", "Service": {"Service": "db"}})");
  registerInstance("n1", "db1", "passing");
  useRules(R"(query_prefix "team-a-" { policy = "write" }
              query_prefix "team-b-" { policy = "read" }
              service "db" { policy = "read" })");
  // Writes need query:write on the name, old and new.
  EXPECT_EQ(
      call("POST", "/v1/query", R"({"Name": "team-b-x", "Service": {"Service": "db"}})").status,
      403);
  EXPECT_EQ(
      call("POST", "/v1/query", R"({"Name": "team-a-x", "Service": {"Service": "db"}})").status,
      200);
  EXPECT_EQ(call("PUT", "/v1/query/" + theirs,
                 R"({"Name": "team-a-stolen", "Service": {"Service": "db"}})")
                .status,
            403);
  EXPECT_EQ(call("DELETE", "/v1/query/" + theirs).status, 403);
  // Reads: a read-only caller sees the query with its Token redacted.
  web::json::value b = json(call("GET", "/v1/query/" + theirs));
  EXPECT_EQ(b[0].at("Name").as_string(), "team-b-db");
  web::json::value a = json(call("GET", "/v1/query/" + mine));
  EXPECT_EQ(a[0].at("Token").as_string(), "tok");  // writer: shown
  useRules(R"(query_prefix "team-a-" { policy = "read" })");
  EXPECT_EQ(json(call("GET", "/v1/query/" + mine))[0].at("Token").as_string(), "<hidden>");
  EXPECT_EQ(call("GET", "/v1/query/" + theirs).status, 403);
  HttpResponse list = call("GET", "/v1/query");
  EXPECT_EQ(json(list).size(), 2u);  // team-a-db and team-a-x
  EXPECT_EQ(testing::headerValue(list, "X-Consul-Results-Filtered-By-ACLs"), "true");
  // Execution needs no query rule, but the caller's token filters the nodes it may not read.
  web::json::value run = json(call("GET", "/v1/query/team-b-db/execute"));
  EXPECT_EQ(run.at("Nodes").size(), 0u);
  useRules(R"(node_prefix "" { policy = "read" } service "db" { policy = "read" })");
  EXPECT_EQ(json(call("GET", "/v1/query/team-b-db/execute")).at("Nodes").size(), 1u);
}

}  // namespace
}  // namespace cairn::http
