// Log sinks (the /v1/agent/monitor streams): each has its own level, independent of stderr's;
// removal is final; the line and JSON formats.
#include "core/base/logging.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

namespace cairn {
namespace {

class Collected {
 public:
  void add(const LogRecord& r) {
    std::lock_guard lock(mu_);
    lines_.push_back(formatLogLine(r));
  }
  std::vector<std::string> lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST(LogSinks, EachSinkHasItsOwnLevel) {
  setLogLevel(LogLevel::kError);  // stderr quiet
  Collected debug, warn;
  uint64_t a = addLogSink(LogLevel::kDebug, [&](const LogRecord& r) { debug.add(r); });
  uint64_t b = addLogSink(LogLevel::kWarn, [&](const LogRecord& r) { warn.add(r); });
  EXPECT_TRUE(logEnabled(LogLevel::kDebug));  // a sink wants it, whatever stderr's level
  LOG_DEBUG("test", "fine " << 1);
  LOG_WARN("test", "careful");
  removeLogSink(a);
  LOG_DEBUG("test", "after removal");
  removeLogSink(b);
  EXPECT_FALSE(logEnabled(LogLevel::kDebug));
  ASSERT_EQ(debug.lines().size(), 2u);
  EXPECT_NE(debug.lines()[0].find(" [DEBUG] test: fine 1"), std::string::npos);
  ASSERT_EQ(warn.lines().size(), 1u);
  EXPECT_NE(warn.lines()[0].find(" [WARN] test: careful"), std::string::npos);
  setLogLevel(LogLevel::kInfo);
}

TEST(LogSinks, JsonLinesEscape) {
  LogRecord r{LogLevel::kInfo, "2026-01-02T03:04:05.678Z", "agent", "a \"quoted\"\nline\t\x01"};
  EXPECT_EQ(formatLogJson(r),
            R"({"@level":"info","@message":"a \"quoted\"\nline\t\u0001","@module":"agent",)"
            R"("@timestamp":"2026-01-02T03:04:05.678Z"})");
  EXPECT_EQ(formatLogLine(r), "2026-01-02T03:04:05.678Z [INFO] agent: a \"quoted\"\nline\t\x01");
}

}  // namespace
}  // namespace cairn
