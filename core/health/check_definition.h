#pragma once
// CheckDefinition: everything needed to run one health check, as Consul's agent accepts it
// (docs/consul-api.md §6 check fields, §11 semantics). The kind follows from the target field set,
// as in Consul: exactly one of http, tcp, grpc, ttl, script_args, or none (a catalog-only check
// whose status only changes when the agent sets it).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/duration.h"
#include "core/base/status.h"

namespace cairn::health {

enum class CheckStatus { kPassing, kWarning, kCritical };

// "passing", "warning", "critical".
std::string_view checkStatusName(CheckStatus status);
// Parses Consul's status words (exact, lower case). Anything else → kInvalidArgument
// `Invalid check status: '<s>'`, the agent's 400 body.
StatusOr<CheckStatus> parseCheckStatus(std::string_view name);

enum class CheckKind { kNone, kHttp, kTcp, kGrpc, kTtl, kScript };

// "" for kNone (Consul's Type of a catalog-only check), else "http", "tcp", "grpc", "ttl",
// "script".
std::string_view checkKindName(CheckKind kind);

inline constexpr Nanos kMinInterval = std::chrono::seconds(1);
inline constexpr Nanos kDefaultTimeout = std::chrono::seconds(10);
inline constexpr Nanos kDefaultScriptTimeout = std::chrono::seconds(30);
inline constexpr Nanos kMinDeregisterCriticalAfter = std::chrono::minutes(1);
inline constexpr size_t kDefaultOutputMaxSize = 4096;

// Parses a Go duration field of a check definition; the error names the field
// (`Invalid Interval: time: invalid duration "x"`). Negative durations are rejected.
StatusOr<Nanos> parseCheckDuration(std::string_view field, std::string_view text);

// Zero / empty means "not set" for every field, as in Consul's JSON decoding.
struct CheckDefinition {
  // HTTP / HTTPS.
  std::string http;                                        // URL
  std::string method;                                      // default GET
  std::map<std::string, std::vector<std::string>> header;  // name → values
  std::string body;
  bool disable_redirects = false;
  bool tls_skip_verify = false;  // HTTP, TCP+TLS (gRPC: see docs/health-checks.md)
  std::string tls_server_name;   // SNI and the name the certificate is verified against
  // TCP.
  std::string tcp;  // host:port
  bool tcp_use_tls = false;
  // gRPC health protocol: host:port[/service].
  std::string grpc;
  bool grpc_use_tls = false;
  // TTL: status only via CheckRunner::ttlUpdate.
  Nanos ttl{0};
  // Script: argv, executed without a shell (give /bin/sh -c ... to get one).
  std::vector<std::string> script_args;

  Nanos interval{0};           // required for http/tcp/grpc/script; raised to kMinInterval
  Nanos timeout{0};            // default kDefaultTimeout (script: kDefaultScriptTimeout)
  size_t output_max_size = 0;  // default kDefaultOutputMaxSize
  int success_before_passing = 0;
  int failures_before_warning = 0;  // 0: same as failures_before_critical
  int failures_before_critical = 0;
  Nanos deregister_critical_service_after{0};  // 0: never; else raised to kMinDeregister...
  std::optional<CheckStatus> initial_status;   // default critical

  // The kind implied by the target fields (the first set one, in the order of CheckKind), kNone
  // when none is set. Meaningful on its own only after validate() succeeded.
  CheckKind kind() const;

  // kInvalidArgument with a message naming the field when the definition cannot run: more than one
  // kind, missing interval, negative values, failures_before_warning > failures_before_critical,
  // a malformed URL / address / gRPC target, an empty argv[0].
  Status validate() const;

  // validate() and then the definition with every default applied and every minimum enforced, so
  // probers and the runner read effective values only.
  StatusOr<CheckDefinition> normalized() const;
};

// Splits "host:port[/service]" into the channel target and the service name ("" when absent).
struct GrpcTarget {
  std::string address;
  std::string service;
};
StatusOr<GrpcTarget> parseGrpcTarget(std::string_view target);

// Splits "host:port" (IPv6 literals in brackets); the port must be 1..65535.
struct HostPort {
  std::string host;
  std::string port;
};
StatusOr<HostPort> parseHostPort(std::string_view address);

}  // namespace cairn::health
