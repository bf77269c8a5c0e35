#include "core/base/logging.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace cairn {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* levelName(LogLevel level) {
  static constexpr const char* kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
  return kNames[static_cast<int>(level)];
}

}  // namespace

bool parseLogLevel(std::string_view name, LogLevel& out) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower == "trace")
    out = LogLevel::kTrace;
  else if (lower == "debug")
    out = LogLevel::kDebug;
  else if (lower == "info")
    out = LogLevel::kInfo;
  else if (lower == "warn" || lower == "warning")
    out = LogLevel::kWarn;
  else if (lower == "err" || lower == "error")
    out = LogLevel::kError;
  else
    return false;
  return true;
}

void setLogLevel(LogLevel level) { g_level = static_cast<int>(level); }

bool logEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void logLine(LogLevel level, std::string_view component, const std::string& message) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::fprintf(stderr, "%s.%03dZ [%s] %.*s: %s\n", stamp, millis, levelName(level),
               static_cast<int>(component.size()), component.data(), message.c_str());
}

}  // namespace cairn
