// KubeClient (operator/kube_client.h) against tests/k8s/fake_apiserver.py, started here on a free
// loopback port: configuration loading, CRUD, retries on 429/5xx, 409 → read again, and
// list+watch through dropped watches and 410 Gone. Faults come from the fake's /__fake hooks.

#include "operator/kube_client.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "operator/leader_election.h"
#include "operator/reconciler.h"

namespace cairn::op {
namespace {

using web::json::value;
namespace fs = std::filesystem;

// Waits for `done` up to `limit`; the polling interval is not a synchronisation.
bool waitFor(const std::function<bool()>& done,
             std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done();
}

fs::path tempDir() {
  fs::path dir = fs::temp_directory_path() /
                 ("cairn-kube-" + std::to_string(::getpid()) + "-" +
                  std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  fs::create_directories(dir);
  return dir;
}

void writeFile(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// One fake API server process for the whole suite.
class FakeApiServer {
 public:
  FakeApiServer() {
    dir_ = tempDir();
    fs::path port_file = dir_ / "port";
    std::string script = std::string(CAIRN_SOURCE_DIR) + "/tests/k8s/fake_apiserver.py";
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/usr/bin/python3", "python3", script.c_str(), "--port", "0", "--port-file",
              port_file.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    waitFor([&] { return fs::exists(port_file); });
    std::ifstream in(port_file);
    int port = 0;
    in >> port;
    url_ = "http://127.0.0.1:" + std::to_string(port);
  }
  ~FakeApiServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    fs::remove_all(dir_);
  }
  const std::string& url() const { return url_; }

 private:
  pid_t pid_ = -1;
  fs::path dir_;
  std::string url_;
};

class KubeClientTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new FakeApiServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_FALSE(server_->url().empty()) << "the fake API server did not start";
    KubeClient::Options options;
    options.backoff = std::chrono::milliseconds(5);
    options.max_backoff = std::chrono::milliseconds(50);
    options.max_attempts = 4;
    client_ =
        std::make_unique<KubeClient>(KubeConfig{server_->url(), "t", "", "", false, ""}, options);
    // A namespace per test keeps them apart.
    ns_ = std::string("t") + std::to_string(counter_++);
    value namespace_obj = value::parse(R"({"apiVersion":"v1","kind":"Namespace"})");
    namespace_obj["metadata"]["name"] = value::string(ns_);
    ASSERT_TRUE(client_->create("/api/v1/namespaces", namespace_obj).isOk());
    faults(R"([])");
  }

  void faults(const std::string& rules_json) {
    value body = value::object();
    body["rules"] = value::parse(rules_json);
    ASSERT_TRUE(client_->call("POST", "/__fake/faults", body).isOk());
  }

  std::vector<int> fired() {
    auto r = client_->call("GET", "/__fake/faults");
    std::vector<int> out;
    for (const value& rule : r->body.at("rules").as_array()) {
      out.push_back(rule.has_field("fired") ? rule.at("fired").as_integer() : 0);
    }
    return out;
  }

  std::string cms() const { return "/api/v1/namespaces/" + ns_ + "/configmaps"; }

  value configMap(const std::string& name, const std::string& v) {
    value cm = value::parse(R"({"apiVersion":"v1","kind":"ConfigMap"})");
    cm["metadata"]["name"] = value::string(name);
    cm["data"]["v"] = value::string(v);
    return cm;
  }

  static FakeApiServer* server_;
  static int counter_;
  std::unique_ptr<KubeClient> client_;
  std::string ns_;
};

FakeApiServer* KubeClientTest::server_ = nullptr;
int KubeClientTest::counter_ = 0;

TEST(KubeConfigTest, ReadsTheCurrentContextOfAKubeconfig) {
  fs::path dir = tempDir();
  writeFile(dir / "config", R"(apiVersion: v1
kind: Config
current-context: b
clusters:
- name: one
  cluster: {server: "https://a:6443"}
- name: two
  cluster: {server: "https://b:6443", certificate-authority: /ca.pem}
users:
- name: u
  user: {token: abc}
contexts:
- name: a
  context: {cluster: one, user: u}
- name: b
  context: {cluster: two, user: u, namespace: prod}
)");
  auto c = loadKubeconfig((dir / "config").string());
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server, "https://b:6443");
  EXPECT_EQ(c->ca_file, "/ca.pem");
  EXPECT_EQ(c->token, "abc");
  EXPECT_EQ(c->name_space, "prod");
  auto a = loadKubeconfig((dir / "config").string(), "a");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->server, "https://a:6443");
  EXPECT_EQ(a->name_space, "default");
  EXPECT_FALSE(loadKubeconfig((dir / "config").string(), "nope").isOk());
  EXPECT_FALSE(loadKubeconfig((dir / "missing").string()).isOk());
  writeFile(dir / "exec", R"(current-context: a
clusters: [{name: one, cluster: {server: "https://a"}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: a, context: {cluster: one, user: u}}]
)");
  auto exec = loadKubeconfig((dir / "exec").string());
  ASSERT_FALSE(exec.isOk());
  EXPECT_NE(exec.status().message().find("only token"), std::string::npos);
  writeFile(dir / "garbage", "[1, 2");
  EXPECT_FALSE(loadKubeconfig((dir / "garbage").string()).isOk());
  fs::remove_all(dir);
}

TEST(KubeConfigTest, InClusterUsesTheServiceAccount) {
  fs::path dir = tempDir();
  writeFile(dir / "token", "tok\n");
  writeFile(dir / "ca.crt", "pem");
  writeFile(dir / "namespace", "cairn\n");
  auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "KUBERNETES_SERVICE_HOST") return "fd00::1";
    if (name == "KUBERNETES_SERVICE_PORT") return "443";
    return std::nullopt;
  };
  auto c = inClusterConfig(env, dir.string());
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->server, "https://[fd00::1]:443");
  EXPECT_EQ(c->token, "tok");
  EXPECT_EQ(c->token_file, (dir / "token").string());
  EXPECT_EQ(c->ca_file, (dir / "ca.crt").string());
  EXPECT_EQ(c->name_space, "cairn");
  auto none = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  EXPECT_FALSE(inClusterConfig(none, dir.string()).isOk());
  fs::remove_all(dir);
}

TEST_F(KubeClientTest, CreateGetPatchApplyDelete) {
  auto created = client_->create(cms(), configMap("a", "1"));
  ASSERT_TRUE(created.isOk()) << created.status().message();
  EXPECT_FALSE(created->at("metadata").at("uid").as_string().empty());
  auto again = client_->create(cms(), configMap("a", "1"));
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  ASSERT_TRUE(client_->mergePatch(cms() + "/a", value::parse(R"({"data":{"v":"2"}})")).isOk());
  EXPECT_EQ(client_->get(cms() + "/a")->at("data").at("v").as_string(), "2");
  auto applied = client_->apply(cms() + "/b", configMap("b", "3"), "cairn-operator");
  ASSERT_TRUE(applied.isOk()) << applied.status().message();
  EXPECT_EQ(client_->get(cms() + "/b")->at("data").at("v").as_string(), "3");
  EXPECT_TRUE(client_->remove(cms() + "/a").isOk());
  EXPECT_EQ(client_->get(cms() + "/a").status().code(), StatusCode::kNotFound);
  auto bad = client_->create(cms(), configMap("Not_A_Name", "1"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("metadata.name"), std::string::npos);
}

TEST_F(KubeClientTest, RetriesTooManyRequestsAndServerErrors) {
  ASSERT_TRUE(client_->create(cms(), configMap("a", "1")).isOk());
  faults(R"([{"method": "GET", "path": "configmaps/a$", "code": 429, "count": 2,
              "retryAfter": 0},
             {"method": "GET", "path": "configmaps/a$", "code": 503, "count": 1}])");
  auto got = client_->get(cms() + "/a");
  ASSERT_TRUE(got.isOk()) << got.status().message();
  EXPECT_EQ(fired(), (std::vector<int>{2, 1}));
  faults(R"([{"method": "GET", "path": "configmaps/a$", "code": 500}])");
  auto failed = client_->get(cms() + "/a");
  EXPECT_EQ(failed.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(fired(), (std::vector<int>{4}));  // max_attempts, then it gives up
}

TEST_F(KubeClientTest, UpdateReadsAgainOnConflict) {
  ASSERT_TRUE(client_->create(cms(), configMap("a", "1")).isOk());
  int calls = 0;
  auto updated = client_->update(cms() + "/a", [&](value& obj) {
    if (++calls == 1) {
      // Another writer gets in between our read and our write: our PUT is stale.
      EXPECT_TRUE(client_->mergePatch(cms() + "/a", value::parse(R"({"data":{"w":"x"}})")).isOk());
    }
    obj["data"]["v"] = value::string("2");
    return Status::ok();
  });
  ASSERT_TRUE(updated.isOk()) << updated.status().message();
  EXPECT_EQ(calls, 2);
  auto obj = client_->get(cms() + "/a");
  EXPECT_EQ(obj->at("data").at("v").as_string(), "2");
  EXPECT_EQ(obj->at("data").at("w").as_string(), "x");  // the other write survived
  auto refused = client_->update(cms() + "/a", [](value&) { return invalidArgument("no"); });
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  faults(R"([{"method": "PUT", "code": 409}])");
  auto gave_up = client_->update(
      cms() + "/a", [](value&) { return Status::ok(); }, 3);
  EXPECT_EQ(gave_up.status().code(), StatusCode::kConflict);
}

TEST_F(KubeClientTest, ListWatchFollowsDropsAndRelistsAfterGone) {
  ASSERT_TRUE(client_->create(cms(), configMap("before", "1")).isOk());
  std::mutex mu;
  std::vector<std::string> listed, events;
  std::atomic<bool> stop{false};
  std::thread watcher([&] {
    Status s = client_->listWatch(
        cms(),
        [&](const std::vector<value>& items) {
          std::lock_guard lock(mu);
          for (const value& i : items) listed.push_back(i.at("metadata").at("name").as_string());
          return true;
        },
        [&](const WatchEvent& e) {
          std::lock_guard lock(mu);
          events.push_back(e.type + " " + e.object.at("metadata").at("name").as_string());
          return !stop;
        },
        stop);
    EXPECT_TRUE(s.isOk()) << s.message();
  });
  auto seen = [&](const std::string& what) {
    return waitFor([&] {
      std::lock_guard lock(mu);
      return std::find(events.begin(), events.end(), what) != events.end();
    });
  };
  ASSERT_TRUE(waitFor([&] { return client_->lists() == 1; }));
  ASSERT_TRUE(client_->create(cms(), configMap("a", "1")).isOk());
  EXPECT_TRUE(seen("ADDED a"));
  // A dropped watch is started again from the last resourceVersion: nothing is missed.
  ASSERT_TRUE(client_->call("POST", "/__fake/watches/drop").isOk());
  ASSERT_TRUE(client_->mergePatch(cms() + "/a", value::parse(R"({"data":{"v":"2"}})")).isOk());
  EXPECT_TRUE(seen("MODIFIED a"));
  EXPECT_EQ(client_->lists(), 1);
  ASSERT_TRUE(client_->create(cms(), configMap("b", "1")).isOk());
  EXPECT_TRUE(seen("ADDED b"));
  // The next watch finds its resourceVersion too old (410 Gone): the client lists again.
  faults(R"([{"method": "GET", "path": "/configmaps$", "code": 410, "count": 1}])");
  ASSERT_TRUE(client_->call("POST", "/__fake/watches/drop").isOk());
  EXPECT_TRUE(waitFor([&] { return client_->lists() == 2; }));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(std::count(listed.begin(), listed.end(), "b"), 1);  // b came with the relist
  }
  ASSERT_TRUE(client_->remove(cms() + "/b").isOk());
  EXPECT_TRUE(seen("DELETED b"));
  stop = true;
  ASSERT_TRUE(client_->create(cms(), configMap("wake", "1")).isOk());  // one event to stop on
  watcher.join();
}

TEST_F(KubeClientTest, MembershipEventsAreAcceptedAsCoreEvents) {
  ObservedCluster cluster;
  cluster.name = "prod";
  cluster.name_space = ns_;
  cluster.uid = "u-1";
  Event removing{false, "RemovingMember", "removing prod-4 (id x) from the Raft configuration"};
  value e = eventObject(cluster, removing, "2026-12-07T13:00:00Z", "operator-0");
  EXPECT_EQ(e.at("metadata").at("name").as_string(), "prod.removingmember.20261207130000");
  auto posted = client_->create("/api/v1/namespaces/" + ns_ + "/events", e);
  ASSERT_TRUE(posted.isOk()) << posted.status().message();
  EXPECT_EQ(posted->at("involvedObject").at("kind").as_string(), "CairnCluster");
  EXPECT_EQ(posted->at("type").as_string(), "Normal");
  Event warn{true, "QuorumLost", "holding every change"};
  EXPECT_EQ(eventObject(cluster, warn, "t", "i").at("type").as_string(), "Warning");
}

TEST(LeaseStepTest, DecidesFromHolderAndExpiry) {
  auto t0 = *parseMicroTime("2026-12-07T13:00:00.000000Z");
  EXPECT_EQ(formatMicroTime(t0 + std::chrono::microseconds(42)), "2026-12-07T13:00:00.000042Z");
  value lease = value::parse(R"({"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                                          "renewTime": "2026-12-07T13:00:00.000000Z"}})");
  EXPECT_EQ(leaseStep(value::null(), "b", t0), LeaseStep::kCreate);
  EXPECT_EQ(leaseStep(lease, "a", t0), LeaseStep::kRenew);
  EXPECT_EQ(leaseStep(lease, "b", t0 + std::chrono::seconds(15)), LeaseStep::kWait);
  EXPECT_EQ(leaseStep(lease, "b", t0 + std::chrono::seconds(16)), LeaseStep::kTakeOver);
  lease["spec"]["holderIdentity"] = value::string("");
  EXPECT_EQ(leaseStep(lease, "b", t0), LeaseStep::kTakeOver);  // released
  value garbage = value::parse(R"({"spec": {"holderIdentity": "a", "renewTime": "yesterday"}})");
  EXPECT_EQ(leaseStep(garbage, "b", t0), LeaseStep::kTakeOver);
  EXPECT_FALSE(parseMicroTime("2026-12-07").has_value());
}

TEST_F(KubeClientTest, OneLeaseHolderAtATime) {
  auto now = *parseMicroTime("2026-12-07T13:00:00.000000Z");
  WallClock clock = [&now] { return now; };
  LeaseLock a(*client_, {ns_, "cairn-operator", "a", std::chrono::seconds(15)}, clock);
  LeaseLock b(*client_, {ns_, "cairn-operator", "b", std::chrono::seconds(15)}, clock);
  EXPECT_EQ(*a.tryAcquireOrRenew(), true);
  EXPECT_EQ(*b.tryAcquireOrRenew(), false);
  now += std::chrono::seconds(10);
  EXPECT_EQ(*a.tryAcquireOrRenew(), true);  // renewed at +10 s
  now += std::chrono::seconds(10);
  EXPECT_EQ(*b.tryAcquireOrRenew(), false);  // a's renewal holds until +25 s
  now += std::chrono::seconds(6);            // a stopped renewing: expired
  EXPECT_EQ(*b.tryAcquireOrRenew(), true);
  EXPECT_EQ(*a.tryAcquireOrRenew(), false);  // a sees b's fresh renewal and stands down
  std::string lease = "/apis/coordination.k8s.io/v1/namespaces/" + ns_ + "/leases/cairn-operator";
  auto held = client_->get(lease);
  ASSERT_TRUE(held.isOk());
  EXPECT_EQ(held->at("spec").at("holderIdentity").as_string(), "b");
  EXPECT_EQ(held->at("spec").at("leaseTransitions").as_integer(), 1);
  // A race lost at the write (409 on the PUT) is a loss, not an error.
  now += std::chrono::seconds(20);
  faults(R"([{"method": "PUT", "path": "leases", "code": 409, "count": 1}])");
  EXPECT_EQ(*a.tryAcquireOrRenew(), false);
  EXPECT_EQ(*a.tryAcquireOrRenew(), true);
}

}  // namespace
}  // namespace cairn::op
