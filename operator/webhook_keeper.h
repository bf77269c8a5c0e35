#pragma once
// WebhookCertKeeper: keeps the webhook's certificates where they must be (docs/injection.md),
// one pass per operator loop:
//
//   leader      reads the Secret (creates it on the first pass), makes sure the webhook
//               configuration's caBundle is the Secret's bundle, moves the rotation one step
//               (webhook_certs.h), writes the Secret, serves the serving certificate, then
//               writes the caBundle
//   not leader  serves whatever serving certificate the Secret holds (it never writes)
//
// Order matters for "no admission ever fails": the Secret is written first, so a new leader
// continues a rotation where the old one stopped; the certificate is served before a bundle
// that names its CA goes out (the first one especially); and the phase clock restarts whenever
// the keeper had to (re)publish the bundle, so a serving certificate is switched only
// `switch_after` after the API server could see the CA that signs it.
//
// Threading: sync() is called from one thread (the operator loop). The Deps are the I/O; tests
// pass fakes and a fake clock.

#include <functional>
#include <optional>
#include <string>

#include "core/base/status.h"
#include "operator/webhook_certs.h"

namespace cairn::op {

class WebhookCertKeeper {
 public:
  struct Deps {
    // The Secret's state; nullopt when there is no Secret yet.
    std::function<StatusOr<std::optional<CertState>>()> load;
    std::function<Status(const CertState&)> save;
    // The caBundle (PEM) of the MutatingWebhookConfiguration; kNotFound when it does not exist
    // (then there is nothing to publish to: the chart is not installed).
    std::function<StatusOr<std::string>()> read_bundle;
    std::function<Status(const std::string& pem)> write_bundle;
    // Hands the serving certificate to the HTTPS server.
    std::function<Status(const KeyPair&)> serve;
    std::function<SystemTime()> now;
  };

  WebhookCertKeeper(Deps deps, CertOptions options);

  // One pass. Returns the rotation step taken (kNone when nothing moved).
  StatusOr<RotationStep> sync(bool leader);

 private:
  Status serve(const KeyPair& pair);
  StatusOr<bool> publish(const CertState& state);

  Deps deps_;
  CertOptions options_;
  KeyPair served_;
};

}  // namespace cairn::op
