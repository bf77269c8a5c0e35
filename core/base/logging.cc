#include "core/base/logging.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>

#include "core/base/json_escape.h"

namespace cairn {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};
// min(g_level, every sink's level): what logEnabled() lets through.
std::atomic<int> g_threshold{static_cast<int>(LogLevel::kInfo)};

struct SinkEntry {
  LogLevel level;
  LogSink sink;
};

struct SinkRegistry {
  std::mutex mu;
  std::map<uint64_t, SinkEntry> sinks;
  uint64_t next_id = 1;
  std::atomic<bool> any{false};
};

SinkRegistry& sinks() {
  static auto* registry = new SinkRegistry();  // never destroyed: logging may run at exit
  return *registry;
}

// Called with the registry's lock held (or before any sink exists).
void updateThreshold(const SinkRegistry& r) {
  int threshold = g_level.load();
  for (const auto& [id, entry] : r.sinks) threshold = std::min(threshold, int(entry.level));
  g_threshold = threshold;
}

}  // namespace

const char* logLevelName(LogLevel level) {
  static constexpr const char* kNames[] = {"TRACE", "DEBUG", "INFO", "WARN", "ERROR"};
  return kNames[static_cast<int>(level)];
}

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

void setLogLevel(LogLevel level) {
  SinkRegistry& r = sinks();
  std::lock_guard lock(r.mu);
  g_level = static_cast<int>(level);
  updateThreshold(r);
}

bool logEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_threshold.load(std::memory_order_relaxed);
}

std::string formatLogLine(const LogRecord& r) {
  std::string out;
  out.reserve(r.timestamp.size() + r.component.size() + r.message.size() + 12);
  out.append(r.timestamp).append(" [").append(logLevelName(r.level)).append("] ");
  out.append(r.component).append(": ").append(r.message);
  return out;
}

std::string formatLogJson(const LogRecord& r) {
  std::string level = logLevelName(r.level);
  std::transform(level.begin(), level.end(), level.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  std::string out = "{\"@level\":";
  appendJsonString(out, level);
  out += ",\"@message\":";
  appendJsonString(out, r.message);
  out += ",\"@module\":";
  appendJsonString(out, r.component);
  out += ",\"@timestamp\":";
  appendJsonString(out, r.timestamp);
  out += "}";
  return out;
}

void logLine(LogLevel level, std::string_view component, const std::string& message) {
  auto now = std::chrono::system_clock::now();
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  int millis = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[40];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(stamp + n, sizeof stamp - n, ".%03dZ", millis);
  LogRecord record{level, stamp, component, message};
  if (static_cast<int>(level) >= g_level.load(std::memory_order_relaxed)) {
    std::string line = formatLogLine(record);
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  SinkRegistry& r = sinks();
  if (!r.any.load(std::memory_order_relaxed)) return;
  std::lock_guard lock(r.mu);
  for (const auto& [id, entry] : r.sinks) {
    if (level >= entry.level) entry.sink(record);
  }
}

uint64_t addLogSink(LogLevel level, LogSink sink) {
  SinkRegistry& r = sinks();
  std::lock_guard lock(r.mu);
  uint64_t id = r.next_id++;
  r.sinks.emplace(id, SinkEntry{level, std::move(sink)});
  r.any = true;
  updateThreshold(r);
  return id;
}

void removeLogSink(uint64_t id) {
  SinkRegistry& r = sinks();
  std::lock_guard lock(r.mu);
  r.sinks.erase(id);
  r.any = !r.sinks.empty();
  updateThreshold(r);
}

}  // namespace cairn
