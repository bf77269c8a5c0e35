#include "core/tls/cert_gen.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "core/tls/file_io.h"

namespace cairn::tls {
namespace {

using BnPtr = std::unique_ptr<BIGNUM, OpenSslDeleter<BIGNUM, BN_free>>;

Status sslError(const std::string& what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  return internalError(what + ": " + buf);
}

std::string randomHex(int bytes) {
  std::vector<unsigned char> raw(bytes);
  RAND_bytes(raw.data(), bytes);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

StatusOr<std::string> pemOf(X509* cert, EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  int ok = cert ? PEM_write_bio_X509(bio.get(), cert)
                : PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  if (ok != 1) return sslError("PEM encoding");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

// Adds one v3 extension in OpenSSL's config syntax ("critical,CA:TRUE").
Status addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return sslError("extension " + value);
  int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return ok == 1 ? Status::ok() : sslError("extension " + value);
}

// A certificate for `key` named `cn`, valid from now for `days`, not yet signed.
StatusOr<CertPtr> newCert(EVP_PKEY* key, const std::string& cn, int days) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  // A random positive 128-bit serial, as Go's crypto/x509 users (Consul) make them.
  BnPtr serial(BN_new());
  BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY);
  BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);  // tolerate a little clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  if (X509_set_pubkey(cert.get(), key) != 1) return sslError("public key");
  return cert;
}

KeyPtr newKey() { return KeyPtr(EVP_EC_gen("P-256")); }

struct Parsed {
  CertPtr cert;
  KeyPtr key;
};

StatusOr<Parsed> parsePair(const PemPair& pair) {
  BioPtr cert_bio(BIO_new_mem_buf(pair.cert.data(), static_cast<int>(pair.cert.size())));
  BioPtr key_bio(BIO_new_mem_buf(pair.key.data(), static_cast<int>(pair.key.size())));
  Parsed p{CertPtr(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)),
           KeyPtr(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr))};
  if (!p.cert) return invalidArgument("the CA certificate is not a PEM certificate");
  if (!p.key) return invalidArgument("the CA key is not a PEM private key");
  if (X509_check_private_key(p.cert.get(), p.key.get()) != 1) {
    return invalidArgument("the CA key does not match the CA certificate");
  }
  return p;
}

bool validIp(const std::string& ip) {
  ASN1_OCTET_STRING* parsed = a2i_IPADDRESS(ip.c_str());
  ERR_clear_error();
  if (parsed == nullptr) return false;
  ASN1_OCTET_STRING_free(parsed);
  return true;
}

}  // namespace

StatusOr<PemPair> createCa(const CaRequest& request) {
  KeyPtr key = newKey();
  if (!key) return sslError("key generation");
  std::string cn =
      request.common_name.empty() ? "Cairn Agent CA " + randomHex(8) : request.common_name;
  auto cert = newCert(key.get(), cn, request.days);
  if (!cert.isOk()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  CAIRN_RETURN_IF_ERROR(addExtension(c, c, NID_basic_constraints, "critical,CA:TRUE"));
  CAIRN_RETURN_IF_ERROR(
      addExtension(c, c, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
  CAIRN_RETURN_IF_ERROR(addExtension(c, c, NID_subject_key_identifier, "hash"));
  if (X509_sign(c, key.get(), EVP_sha256()) == 0) return sslError("signing the CA");
  auto cert_pem = pemOf(c, nullptr);
  auto key_pem = pemOf(nullptr, key.get());
  if (!cert_pem.isOk()) return cert_pem.status();
  if (!key_pem.isOk()) return key_pem.status();
  return PemPair{*cert_pem, *key_pem};
}

std::vector<std::string> dnsNames(const CertRequest& request) {
  std::string role = request.server ? "server" : "client";
  std::string name = role + "." + request.datacenter + "." + request.domain;
  std::vector<std::string> names{name, "localhost"};
  if (request.server && !request.node.empty())
    names.insert(names.begin() + 1, request.node + "." + name);
  names.insert(names.end(), request.extra_dns.begin(), request.extra_dns.end());
  return names;
}

StatusOr<PemPair> createCert(const PemPair& ca, const CertRequest& request) {
  auto parsed = parsePair(ca);
  if (!parsed.isOk()) return parsed.status();
  for (const auto& ip : request.extra_ips) {
    if (!validIp(ip)) return invalidArgument("not an IP address: \"" + ip + "\"");
  }
  for (const auto& dns : request.extra_dns) {
    if (dns.empty() || dns.find_first_of(", \t") != std::string::npos) {
      return invalidArgument("not a DNS name: \"" + dns + "\"");
    }
  }
  KeyPtr key = newKey();
  if (!key) return sslError("key generation");
  std::vector<std::string> names = dnsNames(request);
  auto cert = newCert(key.get(), names.front(), request.days);
  if (!cert.isOk()) return cert.status();
  X509* c = cert->get();
  X509* issuer = parsed->cert.get();
  X509_set_issuer_name(c, X509_get_subject_name(issuer));
  std::string san;
  for (const auto& n : names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  san += ",IP:127.0.0.1";
  for (const auto& ip : request.extra_ips) san += ",IP:" + ip;
  CAIRN_RETURN_IF_ERROR(addExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  CAIRN_RETURN_IF_ERROR(
      addExtension(c, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment"));
  // Consul's server certificates serve and dial (server-to-server RPC); client ones dial.
  CAIRN_RETURN_IF_ERROR(addExtension(c, issuer, NID_ext_key_usage,
                                     request.server ? "serverAuth,clientAuth" : "clientAuth"));
  CAIRN_RETURN_IF_ERROR(addExtension(c, issuer, NID_subject_key_identifier, "hash"));
  CAIRN_RETURN_IF_ERROR(addExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
  CAIRN_RETURN_IF_ERROR(addExtension(c, issuer, NID_subject_alt_name, san));
  if (X509_sign(c, parsed->key.get(), EVP_sha256()) == 0) return sslError("signing");
  auto cert_pem = pemOf(c, nullptr);
  auto key_pem = pemOf(nullptr, key.get());
  if (!cert_pem.isOk()) return cert_pem.status();
  if (!key_pem.isOk()) return key_pem.status();
  return PemPair{*cert_pem, *key_pem};
}

Status writePemPair(const std::string& dir, const std::string& base, const PemPair& pair) {
  std::string prefix = dir.empty() ? base : dir + "/" + base;
  CAIRN_RETURN_IF_ERROR(writeFile(prefix + ".pem", pair.cert, 0644, /*exclusive=*/true));
  return writeFile(prefix + "-key.pem", pair.key, 0600, /*exclusive=*/true);
}

}  // namespace cairn::tls
