// SessionReaper against a fake Node: TTL clocks, leadership, restarts and retries. Timers are
// real (TimerQueue); assertions only compare recorded times with lower bounds, so a slow machine
// can delay but never fail them.
#include "core/node/session_reaper.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <thread>

#include "tests/unit/store/store_fixture.h"

namespace cairn::node {
namespace {

using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;

// Records proposals; answers each with the next scripted status (OK when none is left).
class FakeNode : public Node {
 public:
  void propose(v1::Command command, ProposeCallback done) override {
    Status answer;
    {
      std::lock_guard lock(mu_);
      proposals_.push_back({command, Steady::now()});
      if (!answers_.empty()) {
        answer = answers_.front();
        answers_.pop_front();
      }
    }
    cv_.notify_all();
    if (!answer.isOk()) return done(answer);
    done(ProposeResult{});
  }
  void readBarrier(ReadMode, std::function<void(Status)> done) override { done(Status::ok()); }
  LeaderStatus leaderStatus() const override { return {leader, 0, "127.0.0.1:8300", {}}; }
  bool isLeader() const override { return leader; }
  RaftConfiguration raftConfiguration() const override { return {}; }
  void removePeer(const std::string&, std::function<void(Status)> done) override { done({}); }
  void transferLeadership(const std::string&, std::function<void(Status)> done) override {
    done({});
  }
  StatusOr<AutopilotHealth> autopilotHealth() const override { return unavailable("fake"); }

  struct Proposal {
    v1::Command command;
    Steady::time_point at;
  };
  // Waits (up to 20 s) until `n` proposals were made; returns them.
  std::vector<Proposal> waitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 20s, [&] { return proposals_.size() >= n; });
    return proposals_;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return proposals_.size();
  }
  void failNext(Status s) {
    std::lock_guard lock(mu_);
    answers_.push_back(std::move(s));
  }

  std::atomic<bool> leader{true};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Proposal> proposals_;
  std::deque<Status> answers_;
};

store::SessionClock clockOf(std::string id, std::string ttl, bool ended = false) {
  return store::SessionClock{std::move(id), std::move(ttl), ended};
}

class SessionReaperTest : public store::testing::StoreFixture {
 protected:
  FakeNode node_;  // outlives timers_, whose thread may still run a reaper callback
  TimerQueue timers_;
};

TEST_F(SessionReaperTest, LeaderDestroysSessionTwoTtlsAfterItsClockStarts) {
  SessionReaper reaper(timers_, 20ms);
  reaper.start(node_, *store_);
  auto started = Steady::now();
  reaper.onSessionClock(clockOf("s1", "100ms"));
  auto proposals = node_.waitFor(1);
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0].command.session_destroy().id(), "s1");
  EXPECT_GE(proposals[0].at - started, 200ms);
  reaper.onSessionClock(clockOf("s1", "", true));  // the applied destroy
  EXPECT_EQ(reaper.tracked(), 0u);
}

TEST_F(SessionReaperTest, RenewRestartsTheClock) {
  SessionReaper reaper(timers_, 20ms);
  reaper.start(node_, *store_);
  reaper.onSessionClock(clockOf("s1", "100ms"));
  std::this_thread::sleep_for(120ms);  // part of the scenario, not synchronisation
  auto renewed = Steady::now();
  reaper.onSessionClock(clockOf("s1", "100ms"));
  auto proposals = node_.waitFor(1);
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_GE(proposals[0].at - renewed, 200ms);
}

TEST_F(SessionReaperTest, SessionsWithoutTtlOrEndedGetNoClock) {
  SessionReaper reaper(timers_, 20ms);
  reaper.start(node_, *store_);
  reaper.onSessionClock(clockOf("none", ""));
  reaper.onSessionClock(clockOf("zero", "0s"));
  reaper.onSessionClock(clockOf("gone", "50ms"));
  reaper.onSessionClock(clockOf("gone", "", true));
  EXPECT_EQ(reaper.tracked(), 0u);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(node_.count(), 0u);
}

TEST_F(SessionReaperTest, FollowerWaitsAndNewLeaderRestartsEveryClock) {
  node_.leader = false;
  SessionReaper reaper(timers_, 20ms);
  reaper.start(node_, *store_);
  reaper.onSessionClock(clockOf("s1", "50ms"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(node_.count(), 0u);  // expired on a follower: nothing proposed
  EXPECT_EQ(reaper.tracked(), 1u);
  auto elected = Steady::now();
  node_.leader = true;
  auto proposals = node_.waitFor(1);
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0].command.session_destroy().id(), "s1");
  EXPECT_GE(proposals[0].at - elected, 100ms);
}

TEST_F(SessionReaperTest, FailedDestroyIsRetriedWhileLeading) {
  node_.failNext(unavailable("not the leader"));
  SessionReaper reaper(timers_, 20ms, 50ms);
  reaper.start(node_, *store_);
  reaper.onSessionClock(clockOf("s1", "50ms"));
  auto proposals = node_.waitFor(2);
  ASSERT_EQ(proposals.size(), 2u);
  EXPECT_EQ(proposals[1].command.session_destroy().id(), "s1");
}

TEST_F(SessionReaperTest, StartGivesStoredTtlSessionsAClock) {
  v1::Command reg;
  reg.mutable_catalog_register()->mutable_node()->set_node("n1");
  reg.mutable_catalog_register()->mutable_node()->set_address("10.0.0.1");
  v1::Command create;
  auto* s = create.mutable_session_create()->mutable_session();
  s->set_id("stored");
  s->set_node("n1");
  s->set_behavior("release");
  s->set_ttl("100ms");
  v1::Command plain = create;
  plain.mutable_session_create()->mutable_session()->set_id("plain");
  plain.mutable_session_create()->mutable_session()->set_ttl("");
  store::LogEntry entries[] = {{1, &reg}, {2, &create}, {3, &plain}};
  for (const auto& outcome : store_->apply(entries, false)) ASSERT_TRUE(outcome.ok);

  SessionReaper reaper(timers_, 20ms);
  auto started = Steady::now();
  reaper.start(node_, *store_);
  EXPECT_EQ(reaper.tracked(), 1u);
  auto proposals = node_.waitFor(1);
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0].command.session_destroy().id(), "stored");
  EXPECT_GE(proposals[0].at - started, 200ms);
}

TEST_F(SessionReaperTest, NewLeaderGivesUnreportedStoredSessionsAClock) {
  node_.leader = false;
  SessionReaper reaper(timers_, 20ms);
  reaper.start(node_, *store_);
  // Sessions applied without the observer hearing of them (as after a snapshot install).
  v1::Command reg;
  reg.mutable_catalog_register()->mutable_node()->set_node("n1");
  reg.mutable_catalog_register()->mutable_node()->set_address("10.0.0.1");
  v1::Command create;
  auto* s = create.mutable_session_create()->mutable_session();
  s->set_id("unreported");
  s->set_node("n1");
  s->set_behavior("release");
  s->set_ttl("50ms");
  store::LogEntry entries[] = {{1, &reg}, {2, &create}};
  for (const auto& outcome : store_->apply(entries, false)) ASSERT_TRUE(outcome.ok);
  EXPECT_EQ(reaper.tracked(), 0u);
  auto elected = Steady::now();
  node_.leader = true;
  auto proposals = node_.waitFor(1);
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0].command.session_destroy().id(), "unreported");
  EXPECT_GE(proposals[0].at - elected, 100ms);
}

TEST_F(SessionReaperTest, StopCancelsEverything) {
  SessionReaper reaper(timers_, 20ms);
  reaper.start(node_, *store_);
  reaper.onSessionClock(clockOf("s1", "50ms"));
  reaper.stop();
  EXPECT_EQ(reaper.tracked(), 0u);
  reaper.onSessionClock(clockOf("s2", "50ms"));
  std::this_thread::sleep_for(250ms);
  EXPECT_EQ(node_.count(), 0u);
}

// A node whose isLeader() waits at a gate when the reaper's poll calls it on the timer thread
// (start() calls it too, on the test's thread: that call passes).
class GatedNode : public FakeNode {
 public:
  bool isLeader() const override {
    if (std::this_thread::get_id() == owner_) return true;
    std::unique_lock lock(gate_mu_);
    entered_ = true;
    gate_cv_.notify_all();
    gate_cv_.wait(lock, [&] { return open_; });
    return true;
  }
  void waitEntered() const {
    std::unique_lock lock(gate_mu_);
    gate_cv_.wait_for(lock, 20s, [&] { return entered_; });
  }
  void open() const {
    std::lock_guard lock(gate_mu_);
    open_ = true;
    gate_cv_.notify_all();
  }

 private:
  mutable std::mutex gate_mu_;
  mutable std::condition_variable gate_cv_;
  mutable bool entered_ = false;
  mutable bool open_ = false;
  const std::thread::id owner_ = std::this_thread::get_id();
};

// The owner destroys the node as soon as stop() returns (ServerAgent::stop, also after a start
// that failed half-way), so stop() must wait for a poll that is using it on the timer thread.
TEST_F(SessionReaperTest, StopWaitsForAPollThatIsUsingTheNode) {
  GatedNode node;
  TimerQueue timers;
  SessionReaper reaper(timers, 5ms);
  reaper.start(node, *store_);
  node.waitEntered();  // a poll is inside node.isLeader()
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    reaper.stop();
    stopped = true;
  });
  std::this_thread::sleep_for(100ms);  // give a wrong stop() the time to return early
  EXPECT_FALSE(stopped.load());
  node.open();
  stopper.join();
  EXPECT_TRUE(stopped.load());
}

}  // namespace
}  // namespace cairn::node
