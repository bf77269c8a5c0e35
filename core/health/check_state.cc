#include "core/health/check_state.h"

namespace cairn::health {

void OutputRing::append(std::string_view data) {
  total_ += data.size();
  if (max_ == 0) return;
  if (data.size() >= max_) {
    buf_.assign(data.substr(data.size() - max_));
    return;
  }
  size_t overflow = buf_.size() + data.size() > max_ ? buf_.size() + data.size() - max_ : 0;
  if (overflow > 0) buf_.erase(0, overflow);
  buf_.append(data);
}

std::string scriptOutput(const OutputRing& ring) {
  if (!ring.truncated()) return ring.tail();
  return "Captured " + std::to_string(ring.tail().size()) + " of " +
         std::to_string(ring.totalWritten()) + " bytes\n...\n" + ring.tail();
}

std::string capTtlOutput(std::string_view output, size_t max) {
  if (output.size() <= max) return std::string(output);
  return std::string(output.substr(0, max)) + " ... (captured " + std::to_string(max) + " of " +
         std::to_string(output.size()) + " bytes)";
}

CheckState::CheckState(CheckStatus initial, Thresholds thresholds, SteadyTime now)
    : thresholds_(thresholds),
      successes_(thresholds.success_before_passing),
      failures_(thresholds.failures_before_critical),
      status_(initial) {
  if (initial == CheckStatus::kCritical) critical_since_ = now;
}

bool CheckState::applyResult(const ProbeResult& result, SteadyTime now) {
  if (result.bypass_thresholds) return set(result.status, result.output, now);
  if (result.status != CheckStatus::kCritical) {
    ++successes_;
    failures_ = 0;
    if (successes_ < thresholds_.success_before_passing) return false;
    return set(result.status, result.output, now);
  }
  ++failures_;
  successes_ = 0;
  if (failures_ >= thresholds_.failures_before_critical) {
    return set(CheckStatus::kCritical, result.output, now);
  }
  if (failures_ >= thresholds_.failures_before_warning) {
    return set(CheckStatus::kWarning, result.output, now);
  }
  return false;
}

bool CheckState::set(CheckStatus status, std::string output, SteadyTime now) {
  if (status == CheckStatus::kCritical && !critical_since_) critical_since_ = now;
  if (status != CheckStatus::kCritical) critical_since_.reset();
  if (status == status_ && output == output_) return false;
  status_ = status;
  output_ = std::move(output);
  return true;
}

bool CheckState::ttlUpdate(CheckStatus status, std::string_view output, size_t max_output,
                           Nanos ttl, SteadyTime now) {
  last_ttl_output_ = capTtlOutput(output, max_output);
  ttl_deadline_ = now + ttl;
  return set(status, last_ttl_output_, now);
}

bool CheckState::expireTtlIfDue(SteadyTime now) {
  if (!ttl_deadline_ || now < *ttl_deadline_) return false;
  ttl_deadline_.reset();
  std::string output = "TTL expired";
  if (!last_ttl_output_.empty()) {
    output += " (last output before timeout follows): " + last_ttl_output_;
  }
  return set(CheckStatus::kCritical, std::move(output), now);
}

bool CheckState::criticalLongerThan(Nanos d, SteadyTime now) const {
  return critical_since_ && now - *critical_since_ > d;
}

}  // namespace cairn::health
