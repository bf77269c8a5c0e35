#pragma once
// Leveled logging to stderr in one line per record: "2026-11-21T10:00:00.123Z [INFO] agent: msg".
// Thread-safe. The level is process-wide configuration set once at start-up.

#include <sstream>
#include <string>
#include <string_view>

namespace cairn {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError };

// Parses Consul's level names (trace, debug, info, warn, err/error), case-insensitive.
bool parseLogLevel(std::string_view name, LogLevel& out);
void setLogLevel(LogLevel level);
bool logEnabled(LogLevel level);
void logLine(LogLevel level, std::string_view component, const std::string& message);

}  // namespace cairn

#define CAIRN_LOG(level, component, expr)                                             \
  do {                                                                                \
    if (::cairn::logEnabled(::cairn::LogLevel::level)) {                              \
      std::ostringstream cairn_log_stream_;                                           \
      cairn_log_stream_ << expr;                                                      \
      ::cairn::logLine(::cairn::LogLevel::level, component, cairn_log_stream_.str()); \
    }                                                                                 \
  } while (0)
#define LOG_INFO(component, expr) CAIRN_LOG(kInfo, component, expr)
#define LOG_WARN(component, expr) CAIRN_LOG(kWarn, component, expr)
#define LOG_ERROR(component, expr) CAIRN_LOG(kError, component, expr)
#define LOG_DEBUG(component, expr) CAIRN_LOG(kDebug, component, expr)
