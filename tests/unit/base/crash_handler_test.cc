#include "core/base/crash_handler.h"

#include <gtest/gtest.h>
#include <signal.h>

namespace cairn {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kUnderSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kUnderSanitizer = true;
#else
constexpr bool kUnderSanitizer = false;
#endif
#else
constexpr bool kUnderSanitizer = false;
#endif

TEST(CrashHandlerDeathTest, FatalSignalWritesTheSignalAndAStackThenKills) {
  if (kUnderSanitizer) GTEST_SKIP() << "the sanitizer reports crashes itself";
  EXPECT_EXIT(
      {
        installCrashHandler();
        raise(SIGSEGV);
      },
      ::testing::KilledBySignal(SIGSEGV), "cairn: fatal signal SEGV, stack:\n.*\\(");
}

}  // namespace
}  // namespace cairn
