#pragma once
// The PEM files a TlsSettings names, read and checked at start and on every reload, so that a
// missing or wrong file is an error naming its configuration key instead of a failed handshake
// later. Thread-safe (pure functions of the files).

#include <string>

#include "core/base/status.h"
#include "core/tls/settings.h"

namespace cairn::tls {

struct Material {
  std::string ca_pem;    // empty: no CA configured
  std::string cert_pem;  // empty: no certificate (a client without identity)
  std::string key_pem;
};

// Reads the files of `settings`. Errors: "tls.https.cert_file: cannot read /x.pem: No such file
// or directory", a file that holds no PEM certificate or key, a key that does not match its
// certificate, a certificate not signed by the configured CA, an expired certificate.
StatusOr<Material> loadMaterial(const TlsSettings& settings);

}  // namespace cairn::tls
