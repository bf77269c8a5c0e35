#pragma once
// Leveled logging to stderr in one line per record: "2026-11-21T10:00:00.123Z [INFO] agent: msg".
// Thread-safe. The level is process-wide configuration set once at start-up; sinks (below) may
// add destinations with levels of their own.

#include <cstdint>
#include <functional>
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

// One log record, for the extra destinations below.
struct LogRecord {
  LogLevel level;
  std::string_view timestamp;  // "2026-11-21T10:00:00.123Z"
  std::string_view component;
  std::string_view message;
};
// "TRACE", "DEBUG", "INFO", "WARN", "ERROR".
const char* logLevelName(LogLevel level);
// The stderr line of a record, without its newline.
std::string formatLogLine(const LogRecord& record);
// hclog's JSON line ({"@level":..., "@message":..., "@module":..., "@timestamp":...}).
std::string formatLogJson(const LogRecord& record);

// Extra destinations for log records (a /v1/agent/monitor stream), each with its own level: a
// sink at debug sees debug records even when stderr is at info. `sink` runs on the logging
// thread, under the registry's lock: it must be quick, must not block and must not log.
// removeLogSink() returns once the sink can no longer be running.
using LogSink = std::function<void(const LogRecord& record)>;
uint64_t addLogSink(LogLevel level, LogSink sink);
void removeLogSink(uint64_t id);

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
