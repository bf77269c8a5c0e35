#pragma once
// Certificate authority and agent certificates as `consul tls ca create` and
// `consul tls cert create` make them (ECDSA P-256, SHA-256), with OpenSSL. Used by `cairn tls`
// and by tests, which make their certificates at run time (none are committed).
//
// Pure functions of their inputs plus OpenSSL's random generator; no file I/O except in
// writeNewPemPair(). Thread-safe.

#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::tls {

struct PemPair {
  std::string cert;  // PEM certificate
  std::string key;   // PEM private key (PKCS#8, unencrypted)
};

struct CaRequest {
  std::string common_name;  // empty: "Cairn Agent CA <random>", as Consul names its CA
  std::string domain = "consul";
  int days = 1825;
};

StatusOr<PemPair> createCa(const CaRequest& request);

struct CertRequest {
  bool server = false;  // else a client certificate
  std::string datacenter = "dc1";
  std::string domain = "consul";
  int days = 365;
  std::string node;  // servers: also <node>.server.<dc>.<domain>
  std::vector<std::string> extra_dns;
  std::vector<std::string> extra_ips;
};

// The names a certificate for `request` carries: server.<dc>.<domain> (or client.<dc>.<domain>),
// localhost, the extra names; and 127.0.0.1 plus the extra addresses.
std::vector<std::string> dnsNames(const CertRequest& request);

// A certificate for `request` signed by `ca`. Errors: a bad CA pair, a bad IP address.
StatusOr<PemPair> createCert(const PemPair& ca, const CertRequest& request);

// Writes `pair` to <dir>/<base>.pem and <dir>/<base>-key.pem (the key 0600) without replacing
// existing files: an existing name is an error.
Status writePemPair(const std::string& dir, const std::string& base, const PemPair& pair);

}  // namespace cairn::tls
