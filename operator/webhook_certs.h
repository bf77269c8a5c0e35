#pragma once
// The webhook's certificates (docs/injection.md, "Certificates and rotation"): cairn-operator is
// its own CA. It makes a CA and a serving certificate for <service>.<namespace>.svc, keeps both
// in a Secret, publishes the CA in the MutatingWebhookConfiguration's caBundle, and rotates
// before expiry in three steps so that no admission ever meets a certificate the API server
// cannot verify:
//
//   stage   a new CA and serving certificate are made and kept aside; the bundle becomes
//           old CA + new CA (the old serving certificate is still served and still verifies)
//   switch  `switch_after` after the bundle with both CAs was published, the new serving
//           certificate is served (it verifies against the new CA in the bundle)
//   drop    `drop_after` later (longer than any replica takes to reload), the old CA leaves the
//           bundle
//
// Everything here is pure (OpenSSL, no I/O) and takes the time as an argument, so the rotation
// is a unit test with a fake clock (tests/unit/operator/webhook_certs_test.cc). The Secret and
// the webhook configuration are written by WebhookCertKeeper (webhook_keeper.h).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::op {

using SystemTime = std::chrono::system_clock::time_point;

struct KeyPair {
  std::string cert_pem;
  std::string key_pem;
  bool operator==(const KeyPair& o) const { return cert_pem == o.cert_pem && key_pem == o.key_pem; }
  bool operator!=(const KeyPair& o) const { return !(*this == o); }
};

struct CertOptions {
  std::string service = "cairn-webhook";  // the Service in front of the webhook
  std::string name_space = "default";
  std::chrono::seconds ca_validity{5 * 365 * 24 * 3600};
  std::chrono::seconds serving_validity{365 * 24 * 3600};
  // Rotation starts when either certificate has less than this left.
  std::chrono::seconds renew_before{30 * 24 * 3600};
  // From publishing old+new CA to serving the new certificate: API servers must have seen the
  // new bundle (they watch the configuration; seconds in practice).
  std::chrono::seconds switch_after{60};
  // From serving the new certificate to dropping the old CA: every replica must have reloaded
  // (they read the Secret every resync) and old connections must have ended.
  std::chrono::seconds drop_after{300};
};

// The names the serving certificate covers: <svc>, <svc>.<ns>, <svc>.<ns>.svc and
// <svc>.<ns>.svc.cluster.local.
std::vector<std::string> servingNames(const std::string& service, const std::string& name_space);

// A self-signed CA (EC P-256, SHA-256) valid from `now` (minus 5 minutes for clock skew).
StatusOr<KeyPair> makeCa(const std::string& common_name, SystemTime now,
                         std::chrono::seconds validity);
// A serving certificate for `dns_names` signed by `ca`.
StatusOr<KeyPair> issueServing(const KeyPair& ca, const std::vector<std::string>& dns_names,
                               SystemTime now, std::chrono::seconds validity);
// When a PEM certificate expires.
StatusOr<SystemTime> notAfter(const std::string& cert_pem);
// Whether `cert_pem` verifies for `hostname` at `at` against the CAs in `bundle_pem`: what an
// API server checks before it sends a review.
Status verifyServing(const std::string& cert_pem, const std::string& bundle_pem,
                     const std::string& hostname, SystemTime at);

// What the Secret holds.
struct CertState {
  KeyPair ca;               // the current CA
  KeyPair serving;          // the certificate served now
  KeyPair next_ca;          // staged: in the bundle, not yet serving
  KeyPair next_serving;     // staged, signed by next_ca
  std::string old_ca;       // the previous CA's certificate, in the bundle until dropped
  int64_t phase_since = 0;  // unix seconds: when the current step began

  bool empty() const { return ca.cert_pem.empty(); }
  bool staged() const { return !next_serving.cert_pem.empty(); }
  // The caBundle to publish: every CA whose certificates may be served now or next.
  std::string caBundle() const;
  // Secret data (plain text; the caller base64-encodes): ca.crt, ca.key, tls.crt, tls.key,
  // next-ca.crt, next-ca.key, next-tls.crt, next-tls.key, old-ca.crt, phase-since.
  std::map<std::string, std::string> toSecretData() const;
  static StatusOr<CertState> fromSecretData(const std::map<std::string, std::string>& data);
};

enum class RotationStep { kNone, kCreated, kStaged, kSwitched, kDropped };
const char* rotationStepName(RotationStep step);

// Moves `state` at most one step forward at `now` (see the top of this file). The first call on
// an empty state creates the CA and serving certificate.
StatusOr<RotationStep> advanceRotation(CertState& state, SystemTime now,
                                       const CertOptions& options);

}  // namespace cairn::op
