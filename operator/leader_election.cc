#include "operator/leader_election.h"

#include <cstdio>
#include <ctime>

namespace cairn::op {
namespace {

using std::chrono::system_clock;
using web::json::value;

const value& at(const value& obj, const char* key) {
  static const value kNull;
  return obj.is_object() && obj.has_field(key) ? obj.at(key) : kNull;
}

std::string holderOf(const value& lease) {
  const value& h = at(at(lease, "spec"), "holderIdentity");
  return h.is_string() ? h.as_string() : std::string();
}

}  // namespace

std::string formatMicroTime(system_clock::time_point t) {
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(micros / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros % 1000000));
  return buf;
}

std::optional<system_clock::time_point> parseMicroTime(const std::string& text) {
  std::tm tm{};
  int micros = 0;
  char zone = 0;
  int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%6d%c", &tm.tm_year, &tm.tm_mon,
                      &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &micros, &zone);
  if (n != 8 || zone != 'Z') return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t secs = timegm(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return system_clock::from_time_t(secs) + std::chrono::microseconds(micros);
}

LeaseStep leaseStep(const value& lease, const std::string& identity, system_clock::time_point now) {
  if (!lease.is_object()) return LeaseStep::kCreate;
  std::string holder = holderOf(lease);
  if (holder == identity) return LeaseStep::kRenew;
  if (holder.empty()) return LeaseStep::kTakeOver;  // released
  const value& spec = at(lease, "spec");
  const value& renew = at(spec, "renewTime");
  const value& duration = at(spec, "leaseDurationSeconds");
  auto renewed = renew.is_string() ? parseMicroTime(renew.as_string()) : std::nullopt;
  // A Lease we cannot read the times of is treated as expired: otherwise a malformed object
  // would leave the operator without a leader forever.
  if (!renewed || !duration.is_number() || !duration.as_number().is_integral()) {
    return LeaseStep::kTakeOver;
  }
  auto expiry = *renewed + std::chrono::seconds(duration.as_number().to_int64());
  return now > expiry ? LeaseStep::kTakeOver : LeaseStep::kWait;
}

LeaseLock::LeaseLock(KubeClient& client, LeaseOptions options, WallClock clock)
    : client_(client), options_(std::move(options)), clock_(std::move(clock)) {}

std::string LeaseLock::path() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.name_space + "/leases";
}

value LeaseLock::spec(const value& previous, bool take_over) const {
  value spec = at(previous, "spec").is_object() ? at(previous, "spec") : value::object();
  std::string now = formatMicroTime(clock_());
  spec["holderIdentity"] = value::string(options_.identity);
  spec["leaseDurationSeconds"] = value::number(static_cast<int>(options_.duration.count()));
  spec["renewTime"] = value::string(now);
  if (take_over || !spec.has_field("acquireTime")) {
    spec["acquireTime"] = value::string(now);
    const value& count = at(spec, "leaseTransitions");
    int transitions = count.is_number() ? count.as_integer() : 0;
    spec["leaseTransitions"] = value::number(previous.is_object() ? transitions + 1 : 0);
  }
  return spec;
}

StatusOr<bool> LeaseLock::tryAcquireOrRenew() {
  auto current = client_.get(path() + "/" + options_.name);
  value lease = value::null();
  if (current.isOk()) {
    lease = std::move(*current);
  } else if (current.status().code() != StatusCode::kNotFound) {
    return current.status();
  }
  LeaseStep step = leaseStep(lease, options_.identity, clock_());
  if (step == LeaseStep::kWait) return false;
  if (step == LeaseStep::kCreate) {
    value obj = value::object();
    obj["apiVersion"] = value::string("coordination.k8s.io/v1");
    obj["kind"] = value::string("Lease");
    obj["metadata"]["name"] = value::string(options_.name);
    obj["spec"] = spec(value::null(), true);
    auto created = client_.create(path(), obj);
    if (created.isOk()) return true;
    if (created.status().code() == StatusCode::kConflict) return false;  // another won
    return created.status();
  }
  lease["spec"] = spec(lease, step == LeaseStep::kTakeOver);
  // PUT with the resourceVersion read: if another candidate wrote first, 409 and we lost.
  auto written = client_.call("PUT", path() + "/" + options_.name, lease);
  if (!written.isOk()) return written.status();
  if (written->status == 409) return false;
  if (Status s = toStatus(*written); !s.isOk()) return s;
  return true;
}

}  // namespace cairn::op
