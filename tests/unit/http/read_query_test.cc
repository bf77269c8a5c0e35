// Blocking queries (serveRead): the fan-out key, one watch and one rendered answer shared by
// identical waiters, and a cancelled waiter (its client left) released at once.
#include "core/http/read_query.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <regex>
#include <thread>

#include "core/http/acl_enforcer.h"
#include "core/http/acl_resolver.h"
#include "core/http/handlers.h"
#include "tests/unit/http/applying_node.h"
#include "tests/unit/http/drain_pool.h"
#include "tests/unit/http/route_call.h"
#include "tests/unit/store/store_fixture.h"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;

HttpRequest request(std::string path, std::string raw_query,
                    std::map<std::string, std::string> headers = {}) {
  HttpRequest r;
  r.method = "GET";
  r.path = std::move(path);
  r.raw_query = std::move(raw_query);
  r.query = QueryParams::parse(r.raw_query);
  r.headers = std::move(headers);
  return r;
}

std::string keyOf(const HttpRequest& r) {
  auto opts = parseQueryOptions(r.query);
  EXPECT_TRUE(opts.isOk());
  return fanOutKey(r, *opts);
}

TEST(FanOutKeyTest, EqualForTheSameQuerySpelledInAnotherOrderOrWait) {
  std::string k = keyOf(request("/v1/kv/a", "recurse&index=7&wait=10s"));
  EXPECT_EQ(k, keyOf(request("/v1/kv/a", "index=7&recurse")));
  EXPECT_EQ(k, keyOf(request("/v1/kv/a", "wait=2m&recurse&index=007")));
  EXPECT_EQ(keyOf(request("/v1/health/service/web", "tag=a&tag=b&index=3")),
            keyOf(request("/v1/health/service/web", "index=3&tag=a&tag=b")));
}

TEST(FanOutKeyTest, DiffersWhenTheAnswerCouldDiffer) {
  std::string k = keyOf(request("/v1/kv/a", "index=7"));
  EXPECT_NE(k, keyOf(request("/v1/kv/b", "index=7")));        // path
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=8")));        // target index
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7&stale")));  // consistency
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7&consistent")));
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7&raw")));  // other parameters
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7&pretty")));
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7&token=t")));  // ACL token, three ways
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7", {{"x-consul-token", "t"}})));
  EXPECT_NE(k, keyOf(request("/v1/kv/a", "index=7", {{"authorization", "Bearer t"}})));
  // Repeated parameters keep their order; parts cannot run into each other.
  EXPECT_NE(keyOf(request("/v1/x", "tag=a&tag=b&index=1")),
            keyOf(request("/v1/x", "tag=b&tag=a&index=1")));
  EXPECT_NE(keyOf(request("/v1/kv/a?b", "index=1")), keyOf(request("/v1/kv/a", "b?&index=1")));
  auto events = request("/v1/event/list", "index=5");
  QueryOptions differs = *parseQueryOptions(events.query);
  differs.until_index_differs = true;
  EXPECT_NE(fanOutKey(events, differs), keyOf(events));
  // A list a client agent forwarded is that agent's (its events): never the server's answer.
  auto forwarded = events;
  forwarded.agent_node = "c1";
  EXPECT_NE(keyOf(forwarded), keyOf(events));
}

// One request's answer, collected from whichever thread sends it.
struct Waiter {
  std::shared_ptr<std::promise<HttpResponse>> answer =
      std::make_shared<std::promise<HttpResponse>>();
  std::future<HttpResponse> future = answer->get_future();
  std::optional<Responder> respond;
};

class BlockingQueryTest : public store::testing::StoreFixture {
 protected:
  void SetUp() override {
    StoreFixture::SetUp();
    node_ = std::make_unique<testing::ApplyingNode>(*store_);
    ctx_ = std::make_unique<ApiContext>(
        ApiContext{*node_, *store_, hub_, timers_, slow_work_, metrics_, AgentInfo{}});
    addKvRoutes(router_, *ctx_);
  }
  // A pool task may still hold an answered query, whose destructor reads ctx_ (and the store).
  void TearDown() override {
    testing::drainSharedIoPool();
    StoreFixture::TearDown();
  }

  // Starts GET path?query; the answer arrives in the returned waiter.
  std::shared_ptr<Waiter> get(std::string path, std::string query,
                              std::map<std::string, std::string> headers = {}) {
    auto req = std::make_shared<HttpRequest>(
        request(std::move(path), std::move(query), std::move(headers)));
    auto waiter = std::make_shared<Waiter>();
    waiter->respond.emplace(
        [answer = waiter->answer](HttpResponse r) { answer->set_value(std::move(r)); });
    router_.dispatch(router_.match(req->path), req, *waiter->respond);
    return waiter;
  }

  // The cairn_http_blocking_queries gauge.
  int heldQueries() {
    std::smatch m;
    std::string text = metrics_.render();
    if (!std::regex_search(text, m, std::regex(R"(\ncairn_http_blocking_queries (\d+))"))) {
      return -1;
    }
    return std::stoi(m[1].str());
  }

  // Waits up to 10 s for `condition`.
  template <typename F>
  bool eventually(F condition) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!condition()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);  // polling a condition, not waiting for time to pass
    }
    return true;
  }

  std::unique_ptr<testing::ApplyingNode> node_;
  TimerQueue timers_;
  SerialWorker slow_work_;
  metrics::Metrics metrics_{"test", "test"};
  std::unique_ptr<ApiContext> ctx_;
  Router router_;
};

TEST_F(BlockingQueryTest, IdenticalWaitersShareOneWatchAndGetTheSameAnswer) {
  set("fan/key", "v1");
  uint64_t index = store_->appliedIndex();
  constexpr int kWaiters = 50;
  std::vector<std::shared_ptr<Waiter>> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(get("/v1/kv/fan/key", "index=" + std::to_string(index) + "&wait=60s"));
  }
  auto other = get("/v1/kv/fan/key", "index=" + std::to_string(index) + "&raw");
  ASSERT_TRUE(eventually([&] { return heldQueries() == kWaiters + 1; }));
  EXPECT_EQ(hub_.waiting(), 2u);  // one watch per key: the 50 and the ?raw one
  EXPECT_EQ(timers_.pending(), static_cast<size_t>(kWaiters + 1));  // a deadline each

  set("fan/key", "v2");
  HttpResponse first = waiters[0]->future.get();
  EXPECT_EQ(first.status, 200);
  EXPECT_NE(first.body.find("\"Value\":\"djI=\""), std::string::npos) << first.body;
  EXPECT_EQ(testing::headerValue(first, "X-Consul-Index"), std::to_string(index + 1));
  for (size_t i = 1; i < waiters.size(); ++i) {
    ASSERT_EQ(waiters[i]->future.wait_for(10s), std::future_status::ready);
    HttpResponse r = waiters[i]->future.get();
    EXPECT_EQ(r.body, first.body);
    EXPECT_EQ(r.headers, first.headers);
  }
  EXPECT_EQ(other->future.get().body, "v2");
  EXPECT_TRUE(eventually([&] { return heldQueries() == 0 && timers_.pending() == 0; }));
  EXPECT_EQ(hub_.waiting(), 0u);
}

TEST_F(BlockingQueryTest, AWriteElsewhereKeepsTheGroupWaiting) {
  set("fan/a", "1");
  uint64_t index = store_->appliedIndex();
  auto a = get("/v1/kv/fan/", "recurse&index=" + std::to_string(index));
  auto b = get("/v1/kv/fan/", "recurse&index=" + std::to_string(index));
  ASSERT_TRUE(eventually([&] { return heldQueries() == 2; }));
  set("other", "x");  // not under the prefix: no wake-up
  set("fan/b", "2");
  HttpResponse ra = a->future.get(), rb = b->future.get();
  EXPECT_EQ(ra.body, rb.body);
  EXPECT_EQ(testing::headerValue(ra, "X-Consul-Index"), std::to_string(index + 2));
}

TEST_F(BlockingQueryTest, EachWaiterEndsAtItsOwnDeadline) {
  set("fan/key", "v1");
  std::string index = std::to_string(store_->appliedIndex());
  auto quick = get("/v1/kv/fan/key", "index=" + index + "&wait=50ms");
  auto slow = get("/v1/kv/fan/key", "index=" + index + "&wait=60s");
  ASSERT_EQ(quick->future.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(testing::headerValue(quick->future.get(), "X-Consul-Index"), index);
  EXPECT_EQ(slow->future.wait_for(0s), std::future_status::timeout);
  EXPECT_EQ(hub_.waiting(), 1u);  // the group still watches for the other member
  set("fan/key", "v2");
  EXPECT_EQ(slow->future.wait_for(10s), std::future_status::ready);
}

TEST_F(BlockingQueryTest, ACancelledWaiterIsReleasedAtOnce) {
  set("fan/key", "v1");
  std::string index = std::to_string(store_->appliedIndex());
  auto gone = get("/v1/kv/fan/key", "index=" + index);
  auto stays = get("/v1/kv/fan/key", "index=" + index);
  ASSERT_TRUE(eventually([&] { return heldQueries() == 2; }));
  EXPECT_TRUE(gone->respond->cancel());  // it was waiting: nothing will be answered
  EXPECT_EQ(heldQueries(), 1);
  EXPECT_EQ(timers_.pending(), 1u);
  EXPECT_EQ(hub_.waiting(), 1u);
  EXPECT_TRUE(stays->respond->cancel());
  EXPECT_EQ(heldQueries(), 0);
  EXPECT_EQ(timers_.pending(), 0u);
  EXPECT_EQ(hub_.waiting(), 0u);  // the last member closed the group's watch
  set("fan/key", "v2");
  EXPECT_EQ(gone->future.wait_for(50ms), std::future_status::timeout);
  // A read that does not wait is not cancellable: its answer still comes.
  auto plain = get("/v1/kv/fan/key", "");
  EXPECT_EQ(plain->future.get().status, 200);
  EXPECT_FALSE(plain->respond->cancel());
}

// Blocking queries under ACLs: a waiting query is checked again when its token or its policies
// change (docs/security.md, "Blocking queries").
class AclBlockingQueryTest : public BlockingQueryTest {
 protected:
  void SetUp() override {
    BlockingQueryTest::SetUp();
    AclSettings settings;
    settings.enabled = true;
    settings.default_policy = acl::DefaultPolicy::kDeny;
    resolver_ = std::make_unique<AclResolver>(*store_, settings);
    ctx_->acl = resolver_.get();
    router_.setGuard(aclGuard(*resolver_, *store_, "node-1"));
    policy("p-app", R"(key_prefix "app/" { policy = "read" })");
    token("reader", "reader-secret", "p-app");
    set("app/a", "1");
    set("app/b", "2");
    index_ = std::to_string(store_->appliedIndex());
  }

  void apply(const v1::Command& cmd) {
    store::LogEntry entry{store_->appliedIndex() + 1, &cmd};
    ASSERT_TRUE(store_->apply(std::span(&entry, 1), false).at(0).ok);
  }
  void policy(const std::string& id, const std::string& rules) {
    v1::Command p;
    v1::AclPolicy* policy = p.mutable_acl_policy_set()->mutable_policy();
    policy->set_id(id);
    policy->set_name(id);
    policy->set_rules(rules);
    p.mutable_acl_policy_set()->set_create(!store_->aclPolicy(id).row.has_value());
    apply(p);
  }
  void token(const std::string& accessor, const std::string& secret, const std::string& policy) {
    v1::Command t;
    v1::AclToken* token = t.mutable_acl_token_set()->mutable_token();
    token->set_accessor_id(accessor);
    token->set_secret_id(secret);
    token->add_policies()->set_id(policy);
    t.mutable_acl_token_set()->set_create(true);
    apply(t);
  }
  std::shared_ptr<Waiter> blockingGet(std::string path, std::string query = "") {
    return get(std::move(path), query + "index=" + index_ + "&wait=60s",
               {{"x-consul-token", "reader-secret"}});
  }

  std::unique_ptr<AclResolver> resolver_;
  std::string index_;
};

TEST_F(AclBlockingQueryTest, ADeletedTokenEndsTheWaitWith403) {
  auto waiter = blockingGet("/v1/kv/app/a");
  ASSERT_TRUE(eventually([&] { return heldQueries() == 1; }));
  v1::Command del;
  del.mutable_acl_token_delete()->set_accessor_id("reader");
  apply(del);
  ASSERT_EQ(waiter->future.wait_for(10s), std::future_status::ready);
  HttpResponse r = waiter->future.get();
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body, "ACL not found");
  EXPECT_TRUE(eventually([&] { return heldQueries() == 0 && hub_.waiting() == 0; }));
}

TEST_F(AclBlockingQueryTest, APolicyThatLosesThePermissionEndsTheWaitWith403) {
  auto waiter = blockingGet("/v1/kv/app/a");
  ASSERT_TRUE(eventually([&] { return heldQueries() == 1; }));
  policy("p-app", R"(key_prefix "app/" { policy = "deny" })");
  ASSERT_EQ(waiter->future.wait_for(10s), std::future_status::ready);
  HttpResponse r = waiter->future.get();
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body,
            "Permission denied: token with AccessorID 'reader' lacks permission 'key:read' on "
            "\"app/a\"");
}

TEST_F(AclBlockingQueryTest, ANarrowerPolicyFiltersTheListAtOnce) {
  auto waiter = blockingGet("/v1/kv/app/", "recurse&");
  ASSERT_TRUE(eventually([&] { return heldQueries() == 1; }));
  policy("p-app", R"(key "app/a" { policy = "read" })");
  ASSERT_EQ(waiter->future.wait_for(10s), std::future_status::ready);
  HttpResponse r = waiter->future.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"app/a\""), std::string::npos) << r.body;
  EXPECT_EQ(r.body.find("\"app/b\""), std::string::npos) << r.body;
  EXPECT_EQ(testing::headerValue(r, "X-Consul-Results-Filtered-By-ACLs"), "true");
  EXPECT_EQ(testing::headerValue(r, "X-Consul-Index"), index_);  // the data did not change
}

TEST_F(AclBlockingQueryTest, OtherTokensChangingKeepItWaiting) {
  auto waiter = blockingGet("/v1/kv/app/a");
  ASSERT_TRUE(eventually([&] { return heldQueries() == 1; }));
  policy("p-other", R"(key_prefix "" { policy = "write" })");
  token("other", "other-secret", "p-other");
  set("app/a", "changed");  // answered by this, not by the ACL changes before it
  ASSERT_EQ(waiter->future.wait_for(10s), std::future_status::ready);
  HttpResponse r = waiter->future.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(testing::headerValue(r, "X-Consul-Index"), std::to_string(store_->appliedIndex()));
}

TEST_F(AclBlockingQueryTest, ACancelledWaiterReleasesBothWatches) {
  auto waiter = blockingGet("/v1/kv/app/a");
  ASSERT_TRUE(eventually([&] { return heldQueries() == 1; }));
  EXPECT_EQ(hub_.waiting(), 2u);  // the key and the ACL tables
  EXPECT_TRUE(waiter->respond->cancel());
  EXPECT_EQ(heldQueries(), 0);
  EXPECT_EQ(hub_.waiting(), 0u);
}

}  // namespace
}  // namespace cairn::http
