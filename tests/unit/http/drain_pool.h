#pragma once
// drainSharedIoPool(): for test fixtures that destroy what pool tasks reference (an ApiContext, a
// store). A task that answered a request may still be running on a pool thread, holding a
// BlockingQuery whose destructor reads the context, after the test already saw the answer.

#include <latch>

#include "core/http/io_pool.h"

namespace cairn::http::testing {

// Returns once every task that was running or queued on sharedIoPool() when it was called, and
// every task those posted before it returns, has finished: one barrier task per thread, each
// holding its thread until all have started, twice.
inline void drainSharedIoPool() {
  IoPool& pool = sharedIoPool();
  for (int round = 0; round < 2; ++round) {
    std::latch all_started(pool.threads());
    std::latch all_done(pool.threads());
    for (int i = 0; i < pool.threads(); ++i) {
      pool.post([&] {
        all_started.arrive_and_wait();
        all_done.count_down();
      });
    }
    all_done.wait();
  }
}

}  // namespace cairn::http::testing
