#pragma once
// The pure part of a health check: how a sequence of probe results and TTL updates becomes the
// reported status and output. No clocks and no threads: time is passed in. Not thread-safe (the
// runner serialises access).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/clock.h"
#include "core/base/duration.h"
#include "core/health/check_definition.h"

namespace cairn::health {

// One probe's verdict before flap damping.
struct ProbeResult {
  CheckStatus status = CheckStatus::kCritical;
  std::string output;
  // Reported as is, ignoring the thresholds (Consul does this for a script that could not be
  // started or that timed out).
  bool bypass_thresholds = false;
};

// Keeps the last `max` bytes of everything appended (Consul's HTTP body and script output buffer).
class OutputRing {
 public:
  explicit OutputRing(size_t max) : max_(max) {}
  void append(std::string_view data);
  // The kept bytes, oldest first.
  const std::string& tail() const { return buf_; }
  uint64_t totalWritten() const { return total_; }
  bool truncated() const { return total_ > buf_.size(); }

 private:
  size_t max_;
  std::string buf_;
  uint64_t total_ = 0;
};

// Script output as Consul reports it: the kept tail, preceded by
// "Captured <kept> of <total> bytes\n...\n" when bytes were dropped.
std::string scriptOutput(const OutputRing& ring);

// A TTL update's output as Consul stores it: the FIRST `max` bytes, then
// " ... (captured <max> of <total> bytes)" when longer.
std::string capTtlOutput(std::string_view output, size_t max);

struct Thresholds {
  int success_before_passing = 0;
  int failures_before_warning = 0;  // already defaulted to failures_before_critical
  int failures_before_critical = 0;
};

class CheckState {
 public:
  // `now` starts the critical-since clock when `initial` is critical.
  CheckState(CheckStatus initial, Thresholds thresholds, SteadyTime now);

  // Applies one probe result with Consul's flap damping (agent/checks StatusHandler):
  //  - passing/warning: successes += 1, failures = 0; reported (status, output) when
  //    successes >= success_before_passing, else nothing changes;
  //  - critical: failures += 1, successes = 0; reported critical when
  //    failures >= failures_before_critical, else reported *warning* with the output when
  //    failures >= failures_before_warning, else nothing changes.
  // Both counters start at their thresholds, so the first result after registration is reported
  // at once whatever the thresholds. Returns true when the status or the output changed.
  bool applyResult(const ProbeResult& result, SteadyTime now);

  // Sets status and output directly, bypassing the thresholds. Returns true on a change.
  bool set(CheckStatus status, std::string output, SteadyTime now);

  // A TTL check's pass/warn/fail/update: stores capTtlOutput(output, max_output) as the status
  // output and as the "last output" quoted on expiry, and moves the deadline to now + ttl.
  bool ttlUpdate(CheckStatus status, std::string_view output, size_t max_output, Nanos ttl,
                 SteadyTime now);
  // Arms the first TTL deadline (at registration).
  void armTtl(Nanos ttl, SteadyTime now) { ttl_deadline_ = now + ttl; }
  // When `now` reached the deadline: critical with "TTL expired" or "TTL expired (last output
  // before timeout follows): <last>", and the deadline is cleared until the next ttlUpdate.
  // Returns true when the status or output changed.
  bool expireTtlIfDue(SteadyTime now);
  std::optional<SteadyTime> ttlDeadline() const { return ttl_deadline_; }

  CheckStatus status() const { return status_; }
  const std::string& output() const { return output_; }
  // When the status last became critical; empty while not critical.
  std::optional<SteadyTime> criticalSince() const { return critical_since_; }
  // True when critical for strictly longer than `d` (DeregisterCriticalServiceAfter).
  bool criticalLongerThan(Nanos d, SteadyTime now) const;

 private:
  Thresholds thresholds_;
  int successes_;
  int failures_;
  CheckStatus status_;
  std::string output_;
  std::optional<SteadyTime> critical_since_;
  std::string last_ttl_output_;
  std::optional<SteadyTime> ttl_deadline_;
};

}  // namespace cairn::health
