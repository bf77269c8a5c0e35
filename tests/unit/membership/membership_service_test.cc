// MembershipService + MembershipMonitor + HeartbeatSender end to end in one process: a real gRPC
// server on 127.0.0.1:0, a fake Raft node that applies every proposal to a real StateStore, and
// manual schedulers for the client's ticks and the leader's time. Covers heartbeat → alive,
// silence → serfHealth critical with the bound session invalidated, coming back, leave,
// force-leave (and prune), and a follower relaying to the leader.
#include "core/membership/membership_service.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <thread>

#include "core/membership/heartbeat_sender.h"
#include "core/membership/membership_monitor.h"

namespace cairn::membership {
namespace {

using namespace std::chrono_literals;

class FakeNode final : public node::Node {
 public:
  FakeNode(store::StateStore& store, bool leader) : store_(store), leader_(leader) {}
  void propose(v1::Command cmd, node::ProposeCallback done) override {
    if (!leader_) return target_->propose(std::move(cmd), std::move(done));  // "forwarded"
    {
      std::lock_guard lock(mu_);
      if (hold) {
        held_.emplace_back(std::move(cmd), std::move(done));
        return;
      }
    }
    StatusOr<node::ProposeResult> r = [&] {
      std::lock_guard lock(mu_);
      store::LogEntry e{store_.appliedIndex() + 1, &cmd};
      return node::ProposeResult{e.index, store_.apply(std::span(&e, 1), false).at(0)};
    }();
    done(r);
  }
  void readBarrier(node::ReadMode, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  node::LeaderStatus leaderStatus() const override {
    node::LeaderStatus s;
    s.known_leader = !leader_address.empty();
    s.leader_address = leader_address;
    return s;
  }
  bool isLeader() const override { return leader_; }
  node::RaftConfiguration raftConfiguration() const override {
    node::RaftConfiguration c;
    c.servers.push_back(node::RaftServer{"id-s1", "s1", leader_address, true, true, 0});
    return c;
  }
  void removePeer(const std::string&, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  void transferLeadership(const std::string&, std::function<void(Status)> done) override {
    done(Status::ok());
  }
  StatusOr<node::AutopilotHealth> autopilotHealth() const override {
    return unavailable("not leader");
  }
  std::string leader_address;
  // While set, proposals wait (uncommitted) until releaseHeld() applies them in order.
  bool hold = false;  // guarded by mu_
  void setHold(bool on) {
    std::lock_guard lock(mu_);
    hold = on;
  }
  size_t heldCount() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  void releaseHeld() {
    std::vector<std::pair<v1::Command, node::ProposeCallback>> held;
    {
      std::lock_guard lock(mu_);
      hold = false;
      held.swap(held_);
    }
    for (auto& [cmd, done] : held) propose(std::move(cmd), std::move(done));
  }
  FakeNode* target_ = nullptr;  // followers forward here

 private:
  std::mutex mu_;
  std::vector<std::pair<v1::Command, node::ProposeCallback>> held_;  // guarded by mu_
  store::StateStore& store_;
  bool leader_;
};

// One server: its own state store (the follower's is not replicated: tests read the leader's).
struct TestServer {
  TestServer(const std::filesystem::path& dir, bool leader, health::ManualScheduler& sched,
             std::function<int64_t()> wall, std::chrono::milliseconds client_timeout = 10s) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir.parent_path());
    auto opened = storage::RocksDb::open(dir.string());
    EXPECT_TRUE(opened.isOk());
    db = std::move(*opened);
    store = std::make_unique<store::StateStore>(*db, hub);
    node = std::make_unique<FakeNode>(*store, leader);
    MembershipMonitorOptions o;
    o.liveness.client_timeout = client_timeout;
    monitor = std::make_unique<MembershipMonitor>(
        o, MembershipMonitorDeps{node.get(), store.get(), &sched, std::move(wall)});
    service.attach(node.get(), monitor.get());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service);
    server = builder.BuildAndStart();
    address = "127.0.0.1:" + std::to_string(port);
    monitor->start();
  }
  ~TestServer() {
    monitor->stop();
    server->Shutdown(std::chrono::system_clock::now() + 1s);
  }
  store::WatchHub hub;
  std::unique_ptr<storage::RocksDb> db;
  std::unique_ptr<store::StateStore> store;
  std::unique_ptr<FakeNode> node;
  std::unique_ptr<MembershipMonitor> monitor;
  MembershipService service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::string address;
};

v1::ClientMember client(const std::string& name) {
  v1::ClientMember m;
  m.set_node_name(name);
  m.set_node_id("11111111-2222-3333-4444-" + std::string(12 - name.size(), '0') + name);
  m.set_address("127.0.0.9");
  m.set_http_port(18500);
  m.set_datacenter("dc1");
  m.set_build("0.1.0");
  return m;
}

class MembershipServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ =
        std::filesystem::temp_directory_path() /
        ("cairn-membership-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    leader_ = std::make_unique<TestServer>(base_ / "leader", true, server_sched_,
                                           [this] { return wall_ms_.load(); });
    leader_->node->leader_address = leader_->address;
    leader_->node->target_ = leader_->node.get();
    channel_ = grpc::CreateChannel(leader_->address, grpc::InsecureChannelCredentials());
  }
  void TearDown() override {
    sender_.reset();
    follower_.reset();
    leader_.reset();
    std::filesystem::remove_all(base_);
  }

  void startSender(const std::string& name, std::shared_ptr<grpc::Channel> channel) {
    HeartbeatSenderDeps deps;
    deps.scheduler = &client_sched_;
    deps.channel = [channel] { return channel; };
    deps.on_servers = [this](const v1::HeartbeatResponse& r) {
      std::lock_guard lock(mu_);
      last_reply_ = r;
    };
    deps.on_failure = [this](const Status& s, const std::shared_ptr<grpc::Channel>&) {
      std::lock_guard lock(mu_);
      last_failure_ = s.message();
    };
    sender_ = std::make_unique<HeartbeatSender>(client(name), HeartbeatSenderOptions{}, deps);
    sender_->start();
  }

  // Runs both schedulers' due tasks until `cond` holds (gRPC answers on its own threads).
  bool waitFor(const std::function<bool()>& cond) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      client_sched_.runDue();
      server_sched_.runDue();
      if (cond()) return true;
      std::this_thread::sleep_for(5ms);  // polling interval, not a synchronisation
    }
    return false;
  }

  // One client tick (heartbeat) answered.
  void heartbeatOnce() {
    uint64_t before = sender_->stats().succeeded + sender_->stats().failed;
    client_sched_.advance(2s);
    ASSERT_TRUE(
        waitFor([&] { return sender_->stats().succeeded + sender_->stats().failed > before; }));
  }

  std::optional<v1::MemberRecord> record(TestServer& s, const std::string& name) {
    for (const auto& r : s.store->members()) {
      if (r.member().node_name() == name) return r;
    }
    return std::nullopt;
  }
  std::string serfHealth(TestServer& s, const std::string& node) {
    for (const auto& c : s.store->nodeChecks(node).checks) {
      if (c.check_id() == "serfHealth") return c.status();
    }
    return "";
  }
  bool alive(TestServer& s, const std::string& name) {
    auto r = record(s, name);
    return r && r->status() == v1::MEMBER_ALIVE && serfHealth(s, name) == "passing";
  }

  static inline int counter_ = 0;
  std::filesystem::path base_;
  health::ManualScheduler client_sched_, server_sched_;
  std::atomic<int64_t> wall_ms_{1'700'000'000'000};
  std::unique_ptr<TestServer> leader_, follower_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<HeartbeatSender> sender_;
  std::mutex mu_;
  std::optional<v1::HeartbeatResponse> last_reply_;
  std::string last_failure_;
};

TEST_F(MembershipServiceTest, HeartbeatMakesTheMemberAliveAndReturnsTheServers) {
  startSender("c1", channel_);
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c1"); }));
  auto node = leader_->store->nodeServices("c1").node;
  ASSERT_TRUE(node.has_value());
  EXPECT_EQ(node->address(), "127.0.0.9");
  // The server may apply the heartbeat before the client has run its reply's callback.
  ASSERT_TRUE(waitFor([&] {
    std::lock_guard lock(mu_);
    return last_reply_.has_value();
  }));
  std::lock_guard lock(mu_);
  ASSERT_EQ(last_reply_->servers_size(), 1);
  EXPECT_EQ(last_reply_->servers(0).rpc_address(), leader_->address);
  EXPECT_EQ(last_reply_->leader_rpc_address(), leader_->address);
  // client_timeout 10 s: a third is above the default 2 s interval, which stays.
  EXPECT_EQ(last_reply_->client_timeout_ms(), 10000u);
  EXPECT_EQ(sender_->interval(), 2s);
}

// A short client_timeout on the servers makes the client heartbeat at a third of it, and never
// more often than every 200 ms.
TEST_F(MembershipServiceTest, TheHeartbeatIntervalFollowsTheServersClientTimeout) {
  for (auto [timeout, expected] : {std::pair{1500ms, 500ms}, std::pair{300ms, 200ms}}) {
    sender_.reset();
    leader_.reset();
    leader_ = std::make_unique<TestServer>(
        base_ / ("short-" + std::to_string(timeout.count())), true, server_sched_,
        [this] { return wall_ms_.load(); }, timeout);
    leader_->node->leader_address = leader_->address;
    leader_->node->target_ = leader_->node.get();
    channel_ = grpc::CreateChannel(leader_->address, grpc::InsecureChannelCredentials());
    startSender("c1", channel_);
    ASSERT_TRUE(waitFor([&] { return sender_->stats().succeeded >= 1; }));
    EXPECT_EQ(sender_->interval(), expected) << timeout.count();
  }
}

TEST_F(MembershipServiceTest, SilenceFailsTheMemberAndInvalidatesItsSessionsThenItComesBack) {
  startSender("c1", channel_);
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c1"); }));
  v1::Command create;
  auto* s = create.mutable_session_create()->mutable_session();
  s->set_id("sess-1");
  s->set_node("c1");
  s->add_node_checks("serfHealth");
  leader_->node->propose(create, [](StatusOr<node::ProposeResult> r) { ASSERT_TRUE(r.isOk()); });
  ASSERT_EQ(leader_->store->nodeSessions("c1").sessions.size(), 1u);

  sender_->stop();  // the agent goes silent
  server_sched_.advance(9s);
  EXPECT_TRUE(alive(*leader_, "c1"));  // within client_timeout
  server_sched_.advance(2s);
  ASSERT_TRUE(waitFor([&] { return serfHealth(*leader_, "c1") == "critical"; }));
  EXPECT_EQ(record(*leader_, "c1")->status(), v1::MEMBER_FAILED);
  EXPECT_TRUE(leader_->store->nodeSessions("c1").sessions.empty());

  startSender("c1", channel_);  // it is back (a new run)
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c1"); }))
      << sender_->stats().sent << " " << sender_->stats().succeeded << " " << last_failure_ << " "
      << record(*leader_, "c1")->ShortDebugString() << " " << serfHealth(*leader_, "c1");
}

TEST_F(MembershipServiceTest, LeaveMarksLeftAndDeregistersTheNode) {
  startSender("c1", channel_);
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c1"); }));
  std::promise<Status> left;
  sender_->leave([&](Status st) { left.set_value(st); });
  auto f = left.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(f.get().isOk());
  EXPECT_EQ(record(*leader_, "c1")->status(), v1::MEMBER_LEFT);
  EXPECT_FALSE(leader_->store->nodeServices("c1").node.has_value());
  // Rounds long after the leave do not resurrect it or fail it.
  server_sched_.advance(30s);
  EXPECT_EQ(record(*leader_, "c1")->status(), v1::MEMBER_LEFT);
}

// The leader stops hearing a leaving member at once, but its record says alive until the leave is
// committed and applied: a round in between must not fail it (a SIGTERM'd client ended failed
// instead of left, with its node registered again, on a loaded machine).
TEST_F(MembershipServiceTest, ARoundWhileTheLeaveCommitsDoesNotFailTheMember) {
  startSender("c1", channel_);
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c1"); }));
  for (int i = 0; i < 6; ++i) {  // leading for longer than client_timeout, c1 heard throughout
    heartbeatOnce();
    server_sched_.advance(2s);
  }
  ASSERT_TRUE(alive(*leader_, "c1"));
  leader_->node->setHold(true);
  std::promise<Status> left;
  sender_->leave([&](Status st) { left.set_value(st); });
  ASSERT_TRUE(waitFor([&] { return leader_->node->heldCount() == 1; }));  // the leave, held
  server_sched_.advance(1s);  // a round while it commits
  server_sched_.advance(1s);
  EXPECT_EQ(leader_->node->heldCount(), 1u);  // nothing else was proposed
  leader_->node->releaseHeld();
  auto f = left.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(f.get().isOk());
  server_sched_.advance(1s);
  EXPECT_EQ(record(*leader_, "c1")->status(), v1::MEMBER_LEFT);
  EXPECT_FALSE(leader_->store->nodeServices("c1").node.has_value());
}

TEST_F(MembershipServiceTest, ForceLeaveAndPrune) {
  startSender("c1", channel_);
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c1"); }));
  sender_->stop();
  server_sched_.advance(11s);
  ASSERT_TRUE(waitFor([&] { return record(*leader_, "c1")->status() == v1::MEMBER_FAILED; }));

  auto force = [&](const std::string& name, bool prune) {
    std::promise<Status> p;
    leader_->monitor->forceLeave(name, prune, [&](Status st) { p.set_value(st); });
    return p.get_future().get();
  };
  EXPECT_EQ(force("nobody", false).code(), StatusCode::kNotFound);
  ASSERT_TRUE(force("c1", false).isOk());
  EXPECT_EQ(record(*leader_, "c1")->status(), v1::MEMBER_LEFT);
  EXPECT_FALSE(leader_->store->nodeServices("c1").node.has_value());
  ASSERT_TRUE(force("c1", true).isOk());
  EXPECT_FALSE(record(*leader_, "c1").has_value());
}

TEST_F(MembershipServiceTest, FollowerRelaysHeartbeatsAndLeavesToTheLeader) {
  follower_ = std::make_unique<TestServer>(base_ / "follower", false, server_sched_,
                                           [this] { return wall_ms_.load(); });
  follower_->node->leader_address = leader_->address;
  follower_->node->target_ = leader_->node.get();
  startSender("c2", grpc::CreateChannel(follower_->address, grpc::InsecureChannelCredentials()));
  ASSERT_TRUE(waitFor([&] { return alive(*leader_, "c2"); }));
  EXPECT_TRUE(follower_->store->members().empty());  // the follower keeps nothing itself
  std::promise<Status> left;
  sender_->leave([&](Status st) { left.set_value(st); });
  auto f = left.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  ASSERT_TRUE(f.get().isOk());
  EXPECT_EQ(record(*leader_, "c2")->status(), v1::MEMBER_LEFT);
}

TEST_F(MembershipServiceTest, NoChannelAndBadRequestsAreFailuresNotCrashes) {
  HeartbeatSenderDeps deps;
  deps.scheduler = &client_sched_;
  deps.channel = [] { return std::shared_ptr<grpc::Channel>(); };
  std::atomic<int> failures{0};
  deps.on_failure = [&](const Status&, const std::shared_ptr<grpc::Channel>&) { ++failures; };
  HeartbeatSender lonely(client("c3"), {}, deps);
  lonely.start();
  ASSERT_TRUE(waitFor([&] { return failures.load() == 1; }));
  std::promise<Status> left;
  lonely.leave([&](Status st) { left.set_value(st); });
  EXPECT_EQ(left.get_future().get().code(), StatusCode::kUnavailable);

  auto stub = v1::Membership::NewStub(channel_);
  grpc::ClientContext ctx;
  v1::HeartbeatRequest empty;
  v1::HeartbeatResponse resp;
  EXPECT_EQ(stub->Heartbeat(&ctx, empty, &resp).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

}  // namespace
}  // namespace cairn::membership
