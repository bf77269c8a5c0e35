#include "core/base/timer_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>

namespace cairn {
namespace {

using namespace std::chrono_literals;

TEST(TimerQueue, RunsCallbacksInDeadlineOrder) {
  TimerQueue timers;
  std::mutex mu;
  std::vector<int> order;
  std::promise<void> done;
  auto now = std::chrono::steady_clock::now();
  timers.schedule(now + 30ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(2);
    done.set_value();
  });
  timers.schedule(now + 1ms, [&] {
    std::lock_guard lock(mu);
    order.push_back(1);
  });
  ASSERT_EQ(done.get_future().wait_for(10s), std::future_status::ready);
  std::lock_guard lock(mu);
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

TEST(TimerQueue, CancelledTimerNeverRuns) {
  TimerQueue timers;
  std::atomic<bool> ran{false};
  auto id = timers.schedule(std::chrono::steady_clock::now() + 20ms, [&] { ran = true; });
  EXPECT_TRUE(timers.cancel(id));
  EXPECT_FALSE(timers.cancel(id));
  std::promise<void> later;
  timers.schedule(std::chrono::steady_clock::now() + 40ms, [&] { later.set_value(); });
  ASSERT_EQ(later.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(ran);
  EXPECT_EQ(timers.pending(), 0u);
}

TEST(TimerQueue, DestroyingDropsPendingTimers) {
  std::atomic<bool> ran{false};
  {
    TimerQueue timers;
    timers.schedule(std::chrono::steady_clock::now() + 1h, [&] { ran = true; });
    EXPECT_EQ(timers.pending(), 1u);
  }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// Regression: cancelling the earliest timer while the queue thread waits for it must not touch
// freed memory (run under ASan).
TEST(TimerQueue, CancellingTheTimerBeingWaitedForIsSafe) {
  TimerQueue timers;
  for (int i = 0; i < 200; ++i) {
    // Far enough ahead that the timer cannot fire before the cancel, however loaded the machine
    // (at 50 ms it did, twice, under ctest -j2 at load 15); the timer thread is waiting for it.
    auto id = timers.schedule(std::chrono::steady_clock::now() + std::chrono::seconds(30), [] {});
    std::this_thread::yield();
    EXPECT_TRUE(timers.cancel(id));
  }
  std::promise<void> done;
  timers.schedule(std::chrono::steady_clock::now(), [&] { done.set_value(); });
  EXPECT_EQ(done.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
}

}  // namespace
}  // namespace cairn
