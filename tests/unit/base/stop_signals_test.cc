#include "core/base/stop_signals.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <thread>

namespace cairn {
namespace {

// Each case runs in a death-test child: blocking signals in the test runner itself would leak
// into the other tests.

TEST(StopSignalsDeathTest, SighupReloadsAndTheWaitGoesOnUntilSigterm) {
  EXPECT_EXIT(
      {
        StopSignals signals(StopSignals::Reload::kOnSighup);
        kill(getpid(), SIGHUP);  // pending: blocked in the only thread
        int reloads = 0;
        int sig = signals.wait([&] {
          ++reloads;
          kill(getpid(), SIGTERM);
        });
        _exit(sig == SIGTERM ? 10 + reloads : 1);
      },
      ::testing::ExitedWithCode(11), "");
}

TEST(StopSignalsDeathTest, ThreadsStartedAfterwardsLeaveTheSignalToTheWaiter) {
  EXPECT_EXIT(
      {
        StopSignals signals;
        // The thread inherits the mask, so the SIGINT it sends is not delivered to it (the
        // default action would kill the process) but waits for wait().
        std::thread([] { kill(getpid(), SIGINT); }).join();
        _exit(signals.wait() == SIGINT ? 7 : 1);
      },
      ::testing::ExitedWithCode(7), "");
}

}  // namespace
}  // namespace cairn
