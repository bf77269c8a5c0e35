#pragma once
// Durations as Consul writes them: Go's time.ParseDuration syntax ("1h30m", "15.0s", "0.001s",
// "120000ms", "0"), which every Consul client sends for wait times, TTLs and intervals.

#include <chrono>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace cairn {

using Nanos = std::chrono::nanoseconds;

// Parses a Go duration. Signed decimal numbers with an optional fraction, each followed by a unit
// (ns, us, µs, ms, s, m, h), concatenated. Errors: empty input, missing unit, unknown unit,
// overflow.
StatusOr<Nanos> parseGoDuration(std::string_view text);

// Formats like Go's Duration.String(): "1h30m0s", "1.5s", "250ms", "0s".
std::string formatGoDuration(Nanos d);

}  // namespace cairn
