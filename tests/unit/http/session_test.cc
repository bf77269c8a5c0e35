// Session create decoding/validation, the session and event JSON shapes, and the session, KV
// lock and event handlers against a Node that applies proposals to a real state store at once.
#include <gtest/gtest.h>

#include <future>
#include <regex>

#include "core/http/handlers.h"
#include "core/http/session_json.h"
#include "tests/unit/http/applying_node.h"
#include "tests/unit/http/route_call.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::http {
namespace {

constexpr int64_t kMin = 10'000'000'000;

v1::StoredSession decode(const std::string& body) {
  auto s = decodeSessionCreate(body, "agent-node", kMin);
  EXPECT_TRUE(s.isOk()) << s.status().toString();
  return s.isOk() ? *s : v1::StoredSession{};
}

std::vector<std::string> checksOf(const v1::StoredSession& s) {
  return {s.node_checks().begin(), s.node_checks().end()};
}

TEST(SessionDecodeTest, EmptyBodyTakesConsulsDefaults) {
  for (const char* body : {"", "  ", "{}", "null"}) {
    v1::StoredSession s = decode(body);
    EXPECT_EQ(s.node(), "agent-node");
    EXPECT_EQ(s.lock_delay_ns(), 15'000'000'000);
    EXPECT_EQ(s.behavior(), "release");
    EXPECT_EQ(s.ttl(), "");
    EXPECT_EQ(checksOf(s), std::vector<std::string>{"serfHealth"}) << body;
    EXPECT_TRUE(s.id().empty());
  }
}

TEST(SessionDecodeTest, KeysMatchCaseInsensitively) {
  v1::StoredSession s =
      decode(R"({"name":"n","node":"other","lockdelay":"0.001s","behavior":"delete","ttl":"15.0s",)"
             R"("checks":[]})");
  EXPECT_EQ(s.name(), "n");
  EXPECT_EQ(s.node(), "other");
  EXPECT_EQ(s.lock_delay_ns(), 1'000'000);
  EXPECT_EQ(s.behavior(), "delete");
  EXPECT_EQ(s.ttl(), "15.0s");
  EXPECT_TRUE(checksOf(s).empty());  // present, even empty: used as is
}

TEST(SessionDecodeTest, LockDelayNumbersAndSmallDurationsAreSeconds) {
  EXPECT_EQ(decode(R"({"LockDelay":5})").lock_delay_ns(), 5'000'000'000);
  EXPECT_EQ(decode(R"({"LockDelay":999})").lock_delay_ns(), 999'000'000'000);
  EXPECT_EQ(decode(R"({"LockDelay":1000})").lock_delay_ns(), 1000);
  EXPECT_EQ(decode(R"({"LockDelay":"15000ms"})").lock_delay_ns(), 15'000'000'000);
  EXPECT_EQ(decode(R"({"LockDelay":"10ns"})").lock_delay_ns(), 10'000'000'000);
  EXPECT_EQ(decode(R"({"LockDelay":"0s"})").lock_delay_ns(), 0);
  auto bad = decodeSessionCreate(R"({"LockDelay":"soon"})", "n", kMin);
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message().rfind("Request decode failed: ", 0), 0u);
  // Found by the request_decoders corpus: "-1h" overflowed the seconds conversion.
  for (const char* negative : {R"({"LockDelay":"-1h"})", R"({"LockDelay":-5})"}) {
    auto r = decodeSessionCreate(negative, "n", kMin);
    ASSERT_FALSE(r.isOk()) << negative;
    EXPECT_EQ(r.status().message(), "Request decode failed: LockDelay must not be negative");
  }
}

TEST(SessionDecodeTest, ChecksMergeNodeChecksAndServiceChecks) {
  v1::StoredSession s = decode(R"({"Checks":["a","b"],"NodeChecks":["b","c"],)"
                               R"("ServiceChecks":[{"ID":"web","Namespace":""}]})");
  EXPECT_EQ(checksOf(s), (std::vector<std::string>{"b", "c", "a"}));
  ASSERT_EQ(s.service_checks_size(), 1);
  EXPECT_EQ(s.service_checks(0).id(), "web");
  EXPECT_TRUE(checksOf(decode(R"({"NodeChecks":null})")).empty());
}

TEST(SessionDecodeTest, BehaviorAndTtlErrorsAreConsuls500s) {
  auto behavior = decodeSessionCreate(R"({"Behavior":"keep"})", "n", kMin);
  ASSERT_FALSE(behavior.isOk());
  EXPECT_EQ(behavior.status().code(), StatusCode::kInternal);
  EXPECT_EQ(behavior.status().message(), "Invalid Behavior setting 'keep'");
  auto low = decodeSessionCreate(R"({"TTL":"5s"})", "n", kMin);
  ASSERT_FALSE(low.isOk());
  EXPECT_EQ(low.status().code(), StatusCode::kInternal);
  EXPECT_EQ(low.status().message(),
            "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]");
  auto high = decodeSessionCreate(R"({"TTL":"25h"})", "n", kMin);
  ASSERT_FALSE(high.isOk());
  EXPECT_EQ(high.status().message(),
            "Invalid Session TTL '90000000000000', must be between [10s=24h0m0s]");
  EXPECT_TRUE(decodeSessionCreate(R"({"TTL":"0s"})", "n", kMin).isOk());
  EXPECT_TRUE(decodeSessionCreate(R"({"TTL":"10s"})", "n", kMin).isOk());
  EXPECT_TRUE(decodeSessionCreate(R"({"TTL":"24h"})", "n", kMin).isOk());
  auto garbage = decodeSessionCreate(R"({"TTL":"x"})", "n", kMin);
  ASSERT_FALSE(garbage.isOk());
  EXPECT_EQ(garbage.status().code(), StatusCode::kInternal);
}

TEST(SessionDecodeTest, MalformedBodiesAre400s) {
  for (const char* body : {"{", "[]", R"({"Name":5})", R"({"Checks":"serfHealth"})",
                           R"({"LockDelay":true})", R"({"ServiceChecks":[5]})"}) {
    auto s = decodeSessionCreate(body, "n", kMin);
    ASSERT_FALSE(s.isOk()) << body;
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << body;
  }
}

TEST(SessionJsonTest, ReadShapeIsConsuls) {
  v1::StoredSession s;
  s.set_id("id1");
  s.set_name("n");
  s.set_node("node1");
  s.set_lock_delay_ns(15'000'000'000);
  s.set_behavior("release");
  s.set_ttl("30s");
  s.add_node_checks("serfHealth");
  s.set_create_index(5);
  s.set_modify_index(6);
  EXPECT_EQ(sessionsJson({s}), R"([{"ID":"id1","Name":"n","Node":"node1","LockDelay":15000000000,)"
                               R"("Behavior":"release","TTL":"30s","NodeChecks":["serfHealth"],)"
                               R"("ServiceChecks":null,"CreateIndex":5,"ModifyIndex":6}])");
  s.clear_node_checks();
  auto* c = s.add_service_checks();
  c->set_id("web");
  EXPECT_NE(
      sessionsJson({s}).find(R"("NodeChecks":[],"ServiceChecks":[{"ID":"web","Namespace":""}])"),
      std::string::npos);
  EXPECT_EQ(sessionsJson({}), "[]");
}

TEST(EventJsonTest, ShapeAndIndex) {
  v1::UserEvent e;
  e.set_id("b54fe110-7af5-cafc-d1fb-afc8ba432b1c");
  e.set_name("deploy");
  e.set_ltime(3);
  EXPECT_EQ(eventJson(e),
            R"({"ID":"b54fe110-7af5-cafc-d1fb-afc8ba432b1c","Name":"deploy","Payload":null,)"
            R"("NodeFilter":"","ServiceFilter":"","TagFilter":"","Version":1,"LTime":3})");
  e.set_payload("hi");
  EXPECT_NE(eventJson(e).find(R"("Payload":"aGk=")"), std::string::npos);
  EXPECT_EQ(uuidToIndex(e.id()), 0xb54fe1107af5cafcULL ^ 0xd1fbafc8ba432b1cULL);
  EXPECT_EQ(uuidToIndex("not-a-uuid"), 0u);
}

TEST(UuidTest, RandomVersion4) {
  std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::string a = newUuid(), b = newUuid();
  EXPECT_TRUE(std::regex_match(a, form)) << a;
  EXPECT_NE(a, b);
}

class SessionHandlersTest : public store::testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    node_ = std::make_unique<testing::ApplyingNode>(*store_);
    ctx_ = std::make_unique<ApiContext>(
        ApiContext{*node_, *store_, hub_, timers_, slow_work_, metrics_, AgentInfo{}});
    ctx_->agent.node_name = "agent-node";
    ctx_->agent.datacenter = "dc1";
    addSessionRoutes(router_, *ctx_);
    addKvRoutes(router_, *ctx_);
    addTxnRoutes(router_, *ctx_);
    addEventRoutes(router_, *ctx_);
  }

  HttpResponse call(std::string method, std::string path, std::string query = "",
                    std::string body = "") {
    return testing::callRoute(router_, std::move(method), std::move(path), std::move(query),
                              std::move(body));
  }

  void registerAgentNode(std::string check_status = "passing") {
    v1::Command cmd;
    auto* r = cmd.mutable_catalog_register();
    r->mutable_node()->set_node("agent-node");
    r->mutable_node()->set_address("127.0.0.1");
    auto* c = r->add_checks();
    c->set_check_id("serfHealth");
    c->set_name("Serf Health Status");
    c->set_status(std::move(check_status));
    store::LogEntry entry{store_->appliedIndex() + 1, &cmd};
    ASSERT_TRUE(store_->apply(std::span(&entry, 1), false)[0].ok);
  }

  std::string createSession(const std::string& body = "") {
    HttpResponse r = call("PUT", "/v1/session/create", "", body);
    EXPECT_EQ(r.status, 200) << r.body;
    std::smatch m;
    std::regex id(R"re(\{"ID":"([0-9a-f-]{36})"\})re");
    EXPECT_TRUE(std::regex_match(r.body, m, id)) << r.body;
    return m.size() > 1 ? m[1].str() : "";
  }

  TimerQueue timers_;
  SerialWorker slow_work_;
  metrics::Metrics metrics_{"test", "test"};
  std::unique_ptr<testing::ApplyingNode> node_;
  std::unique_ptr<ApiContext> ctx_;
  Router router_;
};

TEST_F(SessionHandlersTest, CreateNeedsTheNodeAndHealthyChecks) {
  HttpResponse r = call("PUT", "/v1/session/create");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "Missing node registration");
  registerAgentNode("critical");
  r = call("PUT", "/v1/session/create");
  EXPECT_EQ(r.body, "Check 'serfHealth' is in critical state");
  r = call("PUT", "/v1/session/create", "", R"({"Checks":["nope"]})");
  EXPECT_EQ(r.body, "Missing check 'nope' registration");
  EXPECT_FALSE(createSession(R"({"Checks":[]})").empty());
  int before = node_->proposals;
  r = call("PUT", "/v1/session/create", "", R"({"TTL":"1s"})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(node_->proposals, before);  // validated before proposing
}

TEST_F(SessionHandlersTest, InfoListNodeRenewDestroy) {
  registerAgentNode();
  std::string id = createSession(R"({"Name":"s","TTL":"30s"})");
  HttpResponse info = call("GET", "/v1/session/info/" + id);
  EXPECT_EQ(info.status, 200);
  EXPECT_NE(info.body.find(R"("Name":"s","Node":"agent-node","LockDelay":15000000000,)"
                           R"("Behavior":"release","TTL":"30s","NodeChecks":["serfHealth"])"),
            std::string::npos)
      << info.body;
  EXPECT_EQ(call("GET", "/v1/session/list").body, info.body);
  EXPECT_EQ(call("GET", "/v1/session/node/agent-node").body, info.body);
  EXPECT_EQ(call("GET", "/v1/session/node/other").body, "[]");
  HttpResponse renew = call("PUT", "/v1/session/renew/" + id);
  EXPECT_EQ(renew.status, 200);
  EXPECT_EQ(renew.body, info.body);
  EXPECT_EQ(call("PUT", "/v1/session/destroy/" + id).body, "true");
  EXPECT_EQ(call("GET", "/v1/session/info/" + id).body, "[]");
  renew = call("PUT", "/v1/session/renew/" + id);
  EXPECT_EQ(renew.status, 404);
  EXPECT_EQ(renew.body, "Session id '" + id + "' not found");
  EXPECT_EQ(call("PUT", "/v1/session/destroy/" + id).body, "true");
  EXPECT_EQ(call("PUT", "/v1/session/destroy/").status, 400);
  EXPECT_EQ(call("GET", "/v1/session/info/").body, "Missing session");
  EXPECT_EQ(call("GET", "/v1/session/node/").body, "Missing node name");
  EXPECT_EQ(call("GET", "/v1/session/list").status, 200);
}

TEST_F(SessionHandlersTest, AcquireReleaseAndLockDelay) {
  registerAgentNode();
  std::string a = createSession(R"({"LockDelay":"10s"})");
  std::string b = createSession();
  EXPECT_EQ(call("PUT", "/v1/kv/lk", "acquire=" + a, "x").body, "true");
  EXPECT_EQ(call("PUT", "/v1/kv/lk", "acquire=" + b, "y").body, "false");
  HttpResponse bogus = call("PUT", "/v1/kv/lk", "acquire=nope");
  EXPECT_EQ(bogus.status, 500);
  EXPECT_EQ(bogus.body, "invalid session \"nope\"");
  EXPECT_EQ(call("PUT", "/v1/kv/lk", "release=" + b).body, "false");
  EXPECT_EQ(call("PUT", "/v1/kv/lk", "release=" + a).body, "true");
  EXPECT_EQ(call("PUT", "/v1/kv/lk", "acquire=" + a).body, "true");
  EXPECT_EQ(call("PUT", "/v1/session/destroy/" + a).body, "true");  // invalidation: lock delay
  int before = node_->proposals;
  EXPECT_EQ(call("PUT", "/v1/kv/lk", "acquire=" + b).body, "false");
  EXPECT_EQ(node_->proposals, before);
  HttpResponse txn =
      call("PUT", "/v1/txn", "", R"([{"KV":{"Verb":"lock","Key":"lk","Session":")" + b + R"("}}])");
  EXPECT_EQ(txn.status, 409);
  EXPECT_NE(txn.body.find(R"(failed to lock key \"lk\" due to lock delay)"), std::string::npos)
      << txn.body;
  EXPECT_EQ(call("PUT", "/v1/kv/other", "acquire=" + b).body, "true");
}

TEST_F(SessionHandlersTest, EventsFireListAndFilter) {
  HttpResponse fired = call("PUT", "/v1/event/fire/deploy", "", "payload");
  EXPECT_EQ(fired.status, 200);
  EXPECT_NE(fired.body.find(R"("Name":"deploy","Payload":"cGF5bG9hZA==","NodeFilter":"",)"
                            R"("ServiceFilter":"","TagFilter":"","Version":1,"LTime":0})"),
            std::string::npos)
      << fired.body;
  call("PUT", "/v1/event/fire/other", "node=agent-.*");
  call("PUT", "/v1/event/fire/elsewhere", "node=^nomatch$");
  HttpResponse list = call("GET", "/v1/event/list");
  EXPECT_EQ(list.status, 200);
  EXPECT_NE(list.body.find(R"("Name":"deploy")"), std::string::npos);
  EXPECT_NE(list.body.find(R"("Name":"other")"), std::string::npos);
  EXPECT_EQ(list.body.find(R"("Name":"elsewhere")"), std::string::npos);
  EXPECT_NE(list.body.find(R"("LTime":2)"), std::string::npos);
  HttpResponse named = call("GET", "/v1/event/list", "name=deploy");
  EXPECT_EQ(named.body.find(R"("Name":"other")"), std::string::npos);
  EXPECT_EQ(call("PUT", "/v1/event/fire/x", "tag=a").body,
            "Cannot provide tag filter without service filter");
  HttpResponse bad = call("PUT", "/v1/event/fire/x", "node=(");
  EXPECT_EQ(bad.status, 500);
  EXPECT_EQ(bad.body.rfind("Invalid node filter: ", 0), 0u) << bad.body;
  EXPECT_EQ(call("PUT", "/v1/event/fire/").body, "Missing name");
}

}  // namespace
}  // namespace cairn::http
