#include "core/health/check_definition.h"

#include <algorithm>
#include <charconv>

namespace cairn::health {
namespace {

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

int kindCount(const CheckDefinition& d) {
  return !d.http.empty() + !d.tcp.empty() + !d.grpc.empty() + (d.ttl.count() != 0) +
         !d.script_args.empty();
}

Status validateHttpUrl(std::string_view url) {
  std::string_view rest;
  if (startsWith(url, "http://")) {
    rest = url.substr(7);
  } else if (startsWith(url, "https://")) {
    rest = url.substr(8);
  } else {
    return invalidArgument("HTTP check URL must start with http:// or https://: \"" +
                           std::string(url) + "\"");
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == '?' || rest[0] == '#') {
    return invalidArgument("HTTP check URL has no host: \"" + std::string(url) + "\"");
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalidArgument("HTTP check URL contains a space or control character");
    }
  }
  return Status::ok();
}

Status validateNumbers(const CheckDefinition& d) {
  if (d.interval.count() < 0) return invalidArgument("Interval must not be negative");
  if (d.timeout.count() < 0) return invalidArgument("Timeout must not be negative");
  if (d.ttl.count() < 0) return invalidArgument("TTL must not be negative");
  if (d.deregister_critical_service_after.count() < 0) {
    return invalidArgument("DeregisterCriticalServiceAfter must not be negative");
  }
  if (d.success_before_passing < 0 || d.failures_before_warning < 0 ||
      d.failures_before_critical < 0) {
    return invalidArgument(
        "SuccessBeforePassing, FailuresBeforeWarning and FailuresBeforeCritical must not be "
        "negative");
  }
  if (d.failures_before_warning > d.failures_before_critical) {
    return invalidArgument("FailuresBeforeWarning (" + std::to_string(d.failures_before_warning) +
                           ") must be less than or equal to FailuresBeforeCritical (" +
                           std::to_string(d.failures_before_critical) + ")");
  }
  return Status::ok();
}

Status validateTarget(const CheckDefinition& d) {
  switch (d.kind()) {
    case CheckKind::kHttp:
      return validateHttpUrl(d.http);
    case CheckKind::kTcp:
      return parseHostPort(d.tcp).status();
    case CheckKind::kGrpc:
      return parseGrpcTarget(d.grpc).status();
    case CheckKind::kScript:
      if (d.script_args[0].empty()) return invalidArgument("Script check Args[0] is empty");
      return Status::ok();
    case CheckKind::kTtl:
    case CheckKind::kNone:
      return Status::ok();
  }
  return Status::ok();
}

bool isIntervalKind(CheckKind kind) {
  return kind == CheckKind::kHttp || kind == CheckKind::kTcp || kind == CheckKind::kGrpc ||
         kind == CheckKind::kScript;
}

}  // namespace

std::string_view checkStatusName(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPassing:
      return "passing";
    case CheckStatus::kWarning:
      return "warning";
    case CheckStatus::kCritical:
      return "critical";
  }
  return "critical";
}

StatusOr<CheckStatus> parseCheckStatus(std::string_view name) {
  if (name == "passing") return CheckStatus::kPassing;
  if (name == "warning") return CheckStatus::kWarning;
  if (name == "critical") return CheckStatus::kCritical;
  return invalidArgument("Invalid check status: '" + std::string(name) + "'");
}

std::string_view checkKindName(CheckKind kind) {
  switch (kind) {
    case CheckKind::kNone:
      return "";
    case CheckKind::kHttp:
      return "http";
    case CheckKind::kTcp:
      return "tcp";
    case CheckKind::kGrpc:
      return "grpc";
    case CheckKind::kTtl:
      return "ttl";
    case CheckKind::kScript:
      return "script";
  }
  return "";
}

StatusOr<Nanos> parseCheckDuration(std::string_view field, std::string_view text) {
  StatusOr<Nanos> parsed = parseGoDuration(text);
  if (!parsed.isOk()) {
    return invalidArgument("Invalid " + std::string(field) + ": " + parsed.status().message());
  }
  if (parsed->count() < 0) {
    return invalidArgument("Invalid " + std::string(field) + ": must not be negative");
  }
  return parsed;
}

CheckKind CheckDefinition::kind() const {
  if (!http.empty()) return CheckKind::kHttp;
  if (!tcp.empty()) return CheckKind::kTcp;
  if (!grpc.empty()) return CheckKind::kGrpc;
  if (ttl.count() != 0) return CheckKind::kTtl;
  if (!script_args.empty()) return CheckKind::kScript;
  return CheckKind::kNone;
}

Status CheckDefinition::validate() const {
  if (kindCount(*this) > 1) {
    return invalidArgument(
        "A check must have exactly one of HTTP, TCP, GRPC, TTL or Args (script)");
  }
  CAIRN_RETURN_IF_ERROR(validateNumbers(*this));
  CheckKind k = kind();
  if (isIntervalKind(k) && interval.count() == 0) {
    return invalidArgument("Interval must be > 0 for " + std::string(checkKindName(k)) + " checks");
  }
  if (k == CheckKind::kTtl && interval.count() != 0) {
    return invalidArgument("Interval and TTL cannot both be specified");
  }
  return validateTarget(*this);
}

StatusOr<CheckDefinition> CheckDefinition::normalized() const {
  CAIRN_RETURN_IF_ERROR(validate());
  CheckDefinition d = *this;
  CheckKind k = d.kind();
  if (isIntervalKind(k)) d.interval = std::max(d.interval, kMinInterval);
  if (d.timeout.count() == 0) {
    d.timeout = k == CheckKind::kScript ? kDefaultScriptTimeout : kDefaultTimeout;
  }
  if (d.output_max_size == 0) d.output_max_size = kDefaultOutputMaxSize;
  if (d.method.empty() && k == CheckKind::kHttp) d.method = "GET";
  if (d.failures_before_warning == 0) d.failures_before_warning = d.failures_before_critical;
  if (d.deregister_critical_service_after.count() != 0) {
    d.deregister_critical_service_after =
        std::max(d.deregister_critical_service_after, kMinDeregisterCriticalAfter);
  }
  if (!d.initial_status) d.initial_status = CheckStatus::kCritical;
  return d;
}

StatusOr<HostPort> parseHostPort(std::string_view address) {
  std::string_view host;
  std::string_view port;
  if (!address.empty() && address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return invalidArgument("Invalid address \"" + std::string(address) + "\": want [host]:port");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    size_t colon = address.rfind(':');
    if (colon == std::string_view::npos || address.find(':') != colon) {
      return invalidArgument("Invalid address \"" + std::string(address) + "\": want host:port");
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return invalidArgument("Invalid address \"" + std::string(address) +
                           "\": want host:port with a port in 1..65535");
  }
  return HostPort{std::string(host), std::string(port)};
}

StatusOr<GrpcTarget> parseGrpcTarget(std::string_view target) {
  size_t slash = target.find('/');
  std::string_view address = target.substr(0, slash);
  CAIRN_RETURN_IF_ERROR(parseHostPort(address).status());
  GrpcTarget out{std::string(address), ""};
  if (slash != std::string_view::npos) out.service = std::string(target.substr(slash + 1));
  return out;
}

}  // namespace cairn::health
