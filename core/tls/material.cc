#include "core/tls/material.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include "core/tls/file_io.h"

namespace cairn::tls {
namespace {

using StorePtr = std::unique_ptr<X509_STORE, OpenSslDeleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, OpenSslDeleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

StatusOr<std::string> readFile(const std::string& path, const std::string& key) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument(key + ": cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (out.str().empty()) return invalidArgument(key + ": " + path + " is empty");
  return out.str();
}

BioPtr bioOf(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

CertPtr firstCert(const std::string& pem) {
  BioPtr bio = bioOf(pem);
  return CertPtr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

// Every certificate of a CA bundle goes into the store; at least one must parse.
StatusOr<StorePtr> caStore(const std::string& pem, const std::string& where) {
  StorePtr store(X509_STORE_new());
  BioPtr bio = bioOf(pem);
  int n = 0;
  while (X509* c = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store.get(), c);
    X509_free(c);
    ++n;
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  if (n == 0) return invalidArgument(where + " holds no PEM certificate");
  return store;
}

}  // namespace

StatusOr<Material> loadMaterial(const TlsSettings& s) {
  Material m;
  std::string ca_where = s.ca_file_key + ": " + s.ca_file;
  std::string cert_where = s.cert_file_key + ": " + s.cert_file;
  std::string key_where = s.key_file_key + ": " + s.key_file;
  StorePtr store;
  if (!s.ca_file.empty()) {
    auto ca = readFile(s.ca_file, s.ca_file_key);
    if (!ca.isOk()) return ca.status();
    m.ca_pem = std::move(*ca);
    auto st = caStore(m.ca_pem, ca_where);
    if (!st.isOk()) return st.status();
    store = std::move(*st);
  }
  if (s.cert_file.empty()) return m;
  auto cert = readFile(s.cert_file, s.cert_file_key);
  if (!cert.isOk()) return cert.status();
  auto key = readFile(s.key_file, s.key_file_key);
  if (!key.isOk()) return key.status();
  m.cert_pem = std::move(*cert);
  m.key_pem = std::move(*key);
  CertPtr leaf = firstCert(m.cert_pem);
  if (!leaf) return invalidArgument(cert_where + " holds no PEM certificate");
  BioPtr key_bio = bioOf(m.key_pem);
  KeyPtr pkey(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return invalidArgument(key_where + " holds no PEM private key");
  if (X509_check_private_key(leaf.get(), pkey.get()) != 1) {
    ERR_clear_error();
    return invalidArgument(key_where + " does not match the certificate of " + cert_where);
  }
  if (store) {
    StoreCtxPtr ctx(X509_STORE_CTX_new());
    X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
    if (X509_verify_cert(ctx.get()) != 1) {
      std::string why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
      ERR_clear_error();
      return invalidArgument(cert_where + " is not valid under the CA of " + ca_where + ": " + why);
    }
  }
  return m;
}

}  // namespace cairn::tls
