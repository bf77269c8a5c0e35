#include "core/base/serial_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>
#include <vector>

namespace cairn {
namespace {

TEST(SerialWorkerTest, RunsJobsInOrderOffTheCallersThread) {
  std::vector<int> order;
  std::promise<std::thread::id> ran_on;
  {
    SerialWorker worker;
    worker.post([&] { ran_on.set_value(std::this_thread::get_id()); });
    for (int i = 0; i < 100; ++i) worker.post([&order, i] { order.push_back(i); });
  }  // the destructor runs what was queued
  EXPECT_NE(ran_on.get_future().get(), std::this_thread::get_id());
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(SerialWorkerTest, PostDoesNotWaitForARunningJob) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  SerialWorker worker;  // declared last: destroyed (and drained) first
  worker.post([released, &done] {
    released.wait();
    ++done;
  });
  worker.post([&done] { ++done; });  // returns at once although the first job is blocked
  EXPECT_EQ(done.load(), 0);
  release.set_value();
}

}  // namespace
}  // namespace cairn
