#include "core/health/check_runner.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>

namespace cairn::health {
namespace {

using namespace std::chrono_literals;

// Probes complete only when the test says so.
class FakeProber final : public Prober {
 public:
  void start(ProbeDone done) override {
    std::lock_guard lock(mu_);
    ++starts_;
    pending_.push_back(std::move(done));
  }
  void cancel() override {
    std::lock_guard lock(mu_);
    ++cancels_;
  }
  // Completes the oldest probe in flight; false when none.
  bool complete(CheckStatus status, std::string output = "") {
    ProbeDone done;
    {
      std::lock_guard lock(mu_);
      if (pending_.empty()) return false;
      done = std::move(pending_.front());
      pending_.pop_front();
    }
    done(ProbeResult{status, std::move(output), false});
    return true;
  }
  int starts() {
    std::lock_guard lock(mu_);
    return starts_;
  }
  int cancels() {
    std::lock_guard lock(mu_);
    return cancels_;
  }
  size_t inFlight() {
    std::lock_guard lock(mu_);
    return pending_.size();
  }

 private:
  std::mutex mu_;
  std::deque<ProbeDone> pending_;
  int starts_ = 0;
  int cancels_ = 0;
};

class FakeProberFactory final : public ProberFactory {
 public:
  StatusOr<std::shared_ptr<Prober>> create(const CheckDefinition&) override {
    last = std::make_shared<FakeProber>();
    return std::shared_ptr<Prober>(last);
  }
  std::shared_ptr<FakeProber> last;
};

// Always returns bound - 1 - offset clamp: deterministic delays.
class FixedRandom final : public Random {
 public:
  explicit FixedRandom(uint64_t value) : value_(value) {}
  uint64_t uniform(uint64_t bound) override { return value_ % bound; }

 private:
  uint64_t value_;
};

struct Update {
  std::string id;
  CheckStatus status;
  std::string output;
};

class CheckRunnerTest : public ::testing::Test {
 protected:
  CheckRunnerTest()
      : random_(std::chrono::nanoseconds(3s).count()),
        runner_(std::make_unique<CheckRunner>(
            CheckRunner::Deps{&scheduler_, &random_, &probers_},
            [this](const std::string& id, CheckStatus s, const std::string& out) {
              std::lock_guard lock(mu_);
              updates_.push_back({id, s, out});
            })) {}

  static CheckDefinition http(Nanos interval = 10s) {
    CheckDefinition d;
    d.http = "http://127.0.0.1:1/";
    d.interval = interval;
    return d;
  }
  static CheckDefinition ttl(Nanos t) {
    CheckDefinition d;
    d.ttl = t;
    return d;
  }
  std::vector<Update> updates() {
    std::lock_guard lock(mu_);
    return updates_;
  }

  ManualScheduler scheduler_;
  FixedRandom random_;  // first run 3 s after registration
  FakeProberFactory probers_;
  std::mutex mu_;
  std::vector<Update> updates_;
  std::unique_ptr<CheckRunner> runner_;
};

TEST_F(CheckRunnerTest, FirstRunAfterRandomDelayThenEveryIntervalAfterCompletion) {
  ASSERT_TRUE(runner_->add("web", http(10s)).isOk());
  auto prober = probers_.last;
  scheduler_.advance(2999ms);
  EXPECT_EQ(prober->starts(), 0);
  scheduler_.advance(1ms);
  EXPECT_EQ(prober->starts(), 1);
  scheduler_.advance(60s);  // nothing new while the probe is in flight
  EXPECT_EQ(prober->starts(), 1);
  ASSERT_TRUE(prober->complete(CheckStatus::kPassing, "ok"));
  scheduler_.advance(9999ms);
  EXPECT_EQ(prober->starts(), 1);
  scheduler_.advance(1ms);
  EXPECT_EQ(prober->starts(), 2);
}

TEST_F(CheckRunnerTest, RandomDelayIsWithinOneInterval) {
  FixedRandom big(std::numeric_limits<uint64_t>::max());
  CheckRunner runner({&scheduler_, &big, &probers_}, nullptr);
  ASSERT_TRUE(runner.add("c", http(5s)).isOk());
  ASSERT_TRUE(scheduler_.nextDeadline());
  EXPECT_LT(*scheduler_.nextDeadline() - scheduler_.now(), 5s);
}

TEST_F(CheckRunnerTest, CallbackOnChangesOnly) {
  ASSERT_TRUE(runner_->add("web", http()).isOk());
  auto prober = probers_.last;
  auto snap = runner_->status("web");
  ASSERT_TRUE(snap.isOk());
  EXPECT_EQ(snap->status, CheckStatus::kCritical);  // initial
  EXPECT_EQ(snap->kind, CheckKind::kHttp);
  EXPECT_TRUE(updates().empty());

  scheduler_.advance(3s);
  prober->complete(CheckStatus::kPassing, "ok");
  scheduler_.advance(10s);
  prober->complete(CheckStatus::kPassing, "ok");  // same: no callback
  scheduler_.advance(10s);
  prober->complete(CheckStatus::kPassing, "ok, again");  // output change: callback
  auto got = updates();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, "web");
  EXPECT_EQ(got[0].status, CheckStatus::kPassing);
  EXPECT_EQ(got[0].output, "ok");
  EXPECT_EQ(got[1].output, "ok, again");
  EXPECT_EQ(runner_->status("web")->output, "ok, again");
}

TEST_F(CheckRunnerTest, ThresholdsApplyThroughTheRunner) {
  CheckDefinition d = http();
  d.failures_before_critical = 2;
  d.initial_status = CheckStatus::kPassing;
  ASSERT_TRUE(runner_->add("web", d).isOk());
  auto prober = probers_.last;
  scheduler_.advance(3s);
  prober->complete(CheckStatus::kPassing, "ok");
  scheduler_.advance(10s);
  prober->complete(CheckStatus::kCritical, "boom");
  EXPECT_EQ(runner_->status("web")->status, CheckStatus::kPassing);
  scheduler_.advance(10s);
  prober->complete(CheckStatus::kCritical, "boom");
  EXPECT_EQ(runner_->status("web")->status, CheckStatus::kCritical);
  EXPECT_EQ(runner_->status("web")->critical_since, scheduler_.now());
}

TEST_F(CheckRunnerTest, RemoveStopsSchedulingAndIgnoresLateResults) {
  ASSERT_TRUE(runner_->add("web", http()).isOk());
  auto prober = probers_.last;
  scheduler_.advance(3s);
  ASSERT_EQ(prober->inFlight(), 1u);
  ASSERT_TRUE(runner_->remove("web").isOk());
  EXPECT_EQ(prober->cancels(), 1);
  EXPECT_TRUE(prober->complete(CheckStatus::kPassing, "late"));  // after remove: ignored
  EXPECT_TRUE(updates().empty());
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(runner_->status("web").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runner_->remove("web").code(), StatusCode::kNotFound);
  EXPECT_EQ(runner_->size(), 0u);
}

TEST_F(CheckRunnerTest, ReplaceStartsAfreshAndDropsTheOldProbe) {
  ASSERT_TRUE(runner_->add("web", http()).isOk());
  auto old_prober = probers_.last;
  scheduler_.advance(3s);
  CheckDefinition d = http(20s);
  d.initial_status = CheckStatus::kWarning;
  ASSERT_TRUE(runner_->add("web", d).isOk());
  auto new_prober = probers_.last;
  EXPECT_EQ(old_prober->cancels(), 1);
  old_prober->complete(CheckStatus::kPassing, "old");
  EXPECT_TRUE(updates().empty());
  EXPECT_EQ(runner_->status("web")->status, CheckStatus::kWarning);
  EXPECT_EQ(runner_->size(), 1u);
  scheduler_.advance(3s);
  EXPECT_EQ(new_prober->starts(), 1);
  new_prober->complete(CheckStatus::kPassing, "new");
  ASSERT_EQ(updates().size(), 1u);
  EXPECT_EQ(updates()[0].output, "new");
}

TEST_F(CheckRunnerTest, InvalidDefinitionRejected) {
  CheckDefinition d = http(0s);
  EXPECT_EQ(runner_->add("web", d).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(runner_->size(), 0u);
}

TEST_F(CheckRunnerTest, TtlExpiresOnTheManualClock) {
  ASSERT_TRUE(runner_->add("app", ttl(30s)).isOk());
  EXPECT_EQ(runner_->status("app")->status, CheckStatus::kCritical);
  ASSERT_TRUE(runner_->ttlUpdate("app", CheckStatus::kPassing, "alive").isOk());
  ASSERT_EQ(updates().size(), 1u);  // delivered inside ttlUpdate
  EXPECT_EQ(updates()[0].status, CheckStatus::kPassing);
  scheduler_.advance(29s);
  ASSERT_TRUE(runner_->ttlUpdate("app", CheckStatus::kPassing, "alive").isOk());  // renews
  scheduler_.advance(29s);
  EXPECT_EQ(runner_->status("app")->status, CheckStatus::kPassing);
  scheduler_.advance(1s);
  auto snap = runner_->status("app");
  EXPECT_EQ(snap->status, CheckStatus::kCritical);
  EXPECT_EQ(snap->output, "TTL expired (last output before timeout follows): alive");
  ASSERT_EQ(updates().size(), 2u);
  EXPECT_EQ(updates()[1].status, CheckStatus::kCritical);
  EXPECT_EQ(scheduler_.pending(), 0u);  // no timer until the next update
  ASSERT_TRUE(runner_->ttlUpdate("app", CheckStatus::kWarning, "").isOk());
  EXPECT_EQ(runner_->status("app")->status, CheckStatus::kWarning);
  scheduler_.advance(30s);
  EXPECT_EQ(runner_->status("app")->output, "TTL expired");
}

TEST_F(CheckRunnerTest, TtlNeverUpdatedExpiresToo) {
  CheckDefinition d = ttl(10s);
  d.initial_status = CheckStatus::kPassing;
  ASSERT_TRUE(runner_->add("app", d).isOk());
  scheduler_.advance(10s);
  ASSERT_EQ(updates().size(), 1u);
  EXPECT_EQ(updates()[0].output, "TTL expired");
}

TEST_F(CheckRunnerTest, TtlUpdateErrors) {
  EXPECT_EQ(runner_->ttlUpdate("nope", CheckStatus::kPassing, "").code(), StatusCode::kNotFound);
  ASSERT_TRUE(runner_->add("web", http()).isOk());
  EXPECT_EQ(runner_->ttlUpdate("web", CheckStatus::kPassing, "").code(),
            StatusCode::kInvalidArgument);
  ASSERT_TRUE(runner_->add("catalog", CheckDefinition{}).isOk());
  EXPECT_EQ(runner_->ttlUpdate("catalog", CheckStatus::kPassing, "").code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CheckRunnerTest, TtlOutputIsCapped) {
  CheckDefinition d = ttl(10s);
  d.output_max_size = 4;
  ASSERT_TRUE(runner_->add("app", d).isOk());
  ASSERT_TRUE(runner_->ttlUpdate("app", CheckStatus::kPassing, "abcdefgh").isOk());
  EXPECT_EQ(runner_->status("app")->output, "abcd ... (captured 4 of 8 bytes)");
}

TEST_F(CheckRunnerTest, CatalogOnlyCheckIsNeverScheduled) {
  ASSERT_TRUE(runner_->add("maint", CheckDefinition{}).isOk());
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_EQ(runner_->status("maint")->kind, CheckKind::kNone);
}

TEST_F(CheckRunnerTest, CriticalPastDeregister) {
  CheckDefinition d = ttl(10s);
  d.deregister_critical_service_after = 90s;
  ASSERT_TRUE(runner_->add("a", d).isOk());
  ASSERT_TRUE(runner_->add("b", ttl(10s)).isOk());  // no deregister setting
  scheduler_.advance(90s);
  EXPECT_TRUE(runner_->criticalPastDeregister().empty());
  scheduler_.advance(1s);
  EXPECT_EQ(runner_->criticalPastDeregister(), std::vector<std::string>{"a"});
  ASSERT_TRUE(runner_->ttlUpdate("a", CheckStatus::kPassing, "").isOk());
  EXPECT_TRUE(runner_->criticalPastDeregister().empty());
}

TEST_F(CheckRunnerTest, CallbackMayRemoveItsOwnCheck) {
  CheckRunner* runner = nullptr;
  int calls = 0;
  CheckRunner r({&scheduler_, &random_, &probers_},
                [&](const std::string& id, CheckStatus, const std::string&) {
                  ++calls;
                  EXPECT_TRUE(runner->remove(id).isOk());
                });
  runner = &r;
  ASSERT_TRUE(r.add("app", ttl(10s)).isOk());
  ASSERT_TRUE(r.ttlUpdate("app", CheckStatus::kPassing, "x").isOk());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r.size(), 0u);
}

TEST_F(CheckRunnerTest, DestroyingTheRunnerCancelsProbesAndSilencesThem) {
  ASSERT_TRUE(runner_->add("web", http()).isOk());
  auto prober = probers_.last;
  scheduler_.advance(3s);
  runner_.reset();
  EXPECT_EQ(prober->cancels(), 1);
  EXPECT_TRUE(prober->complete(CheckStatus::kPassing, "late"));
  EXPECT_TRUE(updates().empty());
  EXPECT_EQ(scheduler_.pending(), 0u);
}

TEST_F(CheckRunnerTest, ManyChecksEachRunOncePerInterval) {
  std::vector<std::shared_ptr<FakeProber>> probers;
  SeededRandom seeded(7);
  CheckRunner runner({&scheduler_, &seeded, &probers_}, nullptr);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(runner.add("c" + std::to_string(i), http(1s)).isOk());
    probers.push_back(probers_.last);
  }
  scheduler_.advance(1s);
  for (auto& p : probers) {
    EXPECT_EQ(p->starts(), 1);
    p->complete(CheckStatus::kPassing);
  }
  scheduler_.advance(1s);
  for (auto& p : probers) EXPECT_EQ(p->starts(), 2);
}

}  // namespace
}  // namespace cairn::health
