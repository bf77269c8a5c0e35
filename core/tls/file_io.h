#pragma once
// Small helpers core/tls shares: OpenSSL objects owned by unique_ptr, and whole-file writes.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/types.h>

#include <memory>
#include <string>

#include "core/base/status.h"

namespace cairn::tls {

template <typename T, void (*F)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { F(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;

// Writes all of `data` to `path` with `mode`. `exclusive`: fail when the file exists (nothing is
// ever overwritten); else it is replaced through `path`.tmp and a rename, so a reader never sees
// half of it.
Status writeFile(const std::string& path, const std::string& data, mode_t mode, bool exclusive);

}  // namespace cairn::tls
