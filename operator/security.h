#pragma once
// The security switches of a CairnCluster (docs/security.md, "Kubernetes"): the pure decisions
// behind the chart's `tls.enabled` and `acls.manageSystemACLs`. No I/O; cairn-operator carries
// them out (operator_process.cc) and tests/unit/operator/security_test.cc checks each rule.
//
//  - spec.security.tls.enabled: the operator makes a CA and one server certificate (core/tls
//    cert_gen, as `cairn tls` does) into the Secret <cluster>-tls, which the server pods mount at
//    kTlsMountPath; the servers' configuration turns on HTTPS (8501) and mutual TLS on the
//    server port with verify_incoming and verify_server_hostname. The server certificate (one
//    year) is renewed from the same CA when less than kRenewBefore is left.
//  - spec.security.acls.manageSystemACLs: the servers start with ACLs on (default deny). Once
//    the cluster has a leader the operator calls PUT /v1/acl/bootstrap once and keeps the
//    answer's SecretID in the Secret <cluster>-acl-management; a Secret already there means the
//    bootstrap was done (a second one would be refused anyway).
//  - Sidecar tokens: a policy per service name (`service "<name>" write`, plus read on the
//    services the pod's annotations name) and a token holding it, kept in the Secret
//    <cluster>-sidecar-<service>; the injector gives the sidecar container that token as
//    CONSUL_HTTP_TOKEN from the Secret (never in the pod spec itself).
//
// Everything read from the API server is untrusted: a malformed field is a Status.

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::op {

// Not under /etc/cairn, the ConfigMap's read-only mount.
inline constexpr char kTlsMountPath[] = "/etc/cairn-tls";
inline constexpr int kHttpsPort = 8501;
inline constexpr std::chrono::hours kRenewBefore{24 * 30};

struct SecuritySpec {
  bool tls = false;          // spec.security.tls.enabled
  bool manage_acls = false;  // spec.security.acls.manageSystemACLs
};

// spec.security of a CairnCluster; absent fields are off.
StatusOr<SecuritySpec> parseSecuritySpec(const web::json::value& spec);

std::string tlsSecretName(const std::string& cluster);
std::string managementTokenSecretName(const std::string& cluster);
// "<cluster>-sidecar-<service>", lower-cased, other characters than [a-z0-9-] as '-', cut to
// Kubernetes' 253 characters.
std::string sidecarTokenSecretName(const std::string& cluster, const std::string& service);

// The agent configuration the switches add to every server's server.json (merged over the
// operator's own, under spec.config). Null when both are off.
web::json::value securityConfig(const SecuritySpec& security);

// Lays the switches over the objects desiredObjects() made for `cluster`: the configuration
// (server.json in the ConfigMap), and in the StatefulSet's pod template the TLS Secret's volume,
// its mount, the HTTPS port and an annotation naming the switches (a change rolls the servers).
// Nothing changes when both switches are off.
void applySecurity(const SecuritySpec& security, const std::string& cluster,
                   web::json::value& config_map, web::json::value& stateful_set);

// The names the server certificate carries besides server.<dc>.consul and localhost: the client
// Service, the peers Service and every pod behind it, in `name_space`.
std::vector<std::string> serverCertNames(const std::string& cluster, const std::string& name_space);

// The TLS Secret's data (plain text; the caller base64-encodes): ca.pem, ca-key.pem, server.pem,
// server-key.pem.
using SecretData = std::map<std::string, std::string>;

// What to do with the TLS Secret at `now`.
enum class TlsAction { kNone, kCreate, kRenewServerCert };
// `existing`: the Secret's decoded data, nullopt when there is none. A Secret without a usable
// CA is created anew (its servers could not have started with it).
TlsAction tlsAction(const std::optional<SecretData>& existing,
                    std::chrono::system_clock::time_point now);

// A new CA and server certificate (kCreate), or a new server certificate from the CA in
// `existing` (kRenewServerCert).
StatusOr<SecretData> makeTlsSecretData(TlsAction action, const SecretData& existing,
                                       const std::string& cluster, const std::string& name_space);

// The next ACL step for a cluster with manageSystemACLs.
enum class AclStep { kNone, kWaitForLeader, kBootstrap };
AclStep aclStep(const SecuritySpec& security, bool has_leader, bool management_secret_exists);

struct ServicePolicy {
  std::string name;   // "sidecar-<service>"
  std::string rules;  // HCL
};
// The policy of the sidecars of `service`: write on it (register, deregister, checks) and read
// on each of `reads` (what the pod's annotations say it looks up).
ServicePolicy sidecarPolicy(const std::string& service, const std::vector<std::string>& reads);

// The env entry the injector adds to the sidecar container: CONSUL_HTTP_TOKEN from the Secret.
web::json::value sidecarTokenEnv(const std::string& secret_name);

}  // namespace cairn::op
