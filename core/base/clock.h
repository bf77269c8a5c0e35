#pragma once
// Clock: the only source of time for code that must be testable without sleeping.
// SystemClock reads the monotonic clock; ManualClock advances only when told to.

#include <atomic>
#include <chrono>

namespace cairn {

using SteadyTime = std::chrono::steady_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time. Thread-safe.
  virtual SteadyTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SteadyTime now() const override { return std::chrono::steady_clock::now(); }
};

// Thread-safe manual clock for tests and simulation; starts at an arbitrary fixed epoch.
class ManualClock final : public Clock {
 public:
  SteadyTime now() const override { return SteadyTime(std::chrono::nanoseconds(nanos_.load())); }
  void advance(std::chrono::nanoseconds d) { nanos_ += d.count(); }

 private:
  std::atomic<int64_t> nanos_{1'000'000'000};
};

}  // namespace cairn
