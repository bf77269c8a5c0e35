#pragma once
// TlsSettings: one of Consul's TLS interfaces (tls.https or tls.internal_rpc) resolved over
// tls.defaults and the legacy top-level keys (core/config builds it: tlsSettings()). Plain data,
// no OpenSSL; core/tls/material.h reads the files it names.

#include <string>

namespace cairn::tls {

struct TlsSettings {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  // The configuration key each file came from ("tls.https.cert_file", "cert_file"), so that an
  // unreadable file is reported by the key that named it.
  std::string ca_file_key = "tls.defaults.ca_file";
  std::string cert_file_key = "tls.defaults.cert_file";
  std::string key_file_key = "tls.defaults.key_file";
  // Consul's names: TLSv1_0 .. TLSv1_3 (default TLSv1_2).
  std::string min_version = "TLSv1_2";
  // Require a client certificate signed by the CA.
  bool verify_incoming = false;
  // Dial with TLS and check the server's certificate against the CA.
  bool verify_outgoing = false;
  // Also check that a server's certificate names server.<datacenter>.<domain>.
  bool verify_server_hostname = false;

  // This interface serves TLS (it has a certificate).
  bool serves() const { return !cert_file.empty(); }
};

}  // namespace cairn::tls
