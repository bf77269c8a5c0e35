#include "operator/webhook_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

namespace cairn::op {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

constexpr std::chrono::seconds kSkew{300};

std::string sslError(const std::string& what) {
  unsigned long e = ERR_get_error();
  char buf[256] = {0};
  if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return what + (e != 0 ? std::string(": ") + buf : std::string());
}

time_t toTimeT(SystemTime t) { return std::chrono::system_clock::to_time_t(t); }

std::string pemOf(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

std::string pemOf(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

Cert parseCert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return Cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PKey parseKey(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PKey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool addExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// A certificate for `key` named `common_name`, valid [now - skew, now + validity], not yet
// signed and without extensions.
StatusOr<Cert> newCert(EVP_PKEY* key, const std::string& common_name, SystemTime now,
                       std::chrono::seconds validity) {
  Cert cert(X509_new());
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> serial(BN_new());
  if (!cert || !serial || !BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) {
    return internalError(sslError("new certificate"));
  }
  X509_set_version(cert.get(), 2);
  time_t start = toTimeT(now - kSkew);
  time_t base = toTimeT(now);
  if (!X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, 0, &start) ||
      !X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, static_cast<long>(validity.count()),
                        &base)) {
    return internalError(sslError("certificate validity"));
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

StatusOr<PKey> newKey() {
  PKey key(EVP_EC_gen("P-256"));
  if (!key) return internalError(sslError("EC key generation"));
  return key;
}

}  // namespace

std::vector<std::string> servingNames(const std::string& service, const std::string& ns) {
  return {service, service + "." + ns, service + "." + ns + ".svc",
          service + "." + ns + ".svc.cluster.local"};
}

StatusOr<KeyPair> makeCa(const std::string& common_name, SystemTime now,
                         std::chrono::seconds validity) {
  auto key = newKey();
  if (!key.isOk()) return key.status();
  auto cert = newCert(key->get(), common_name, now, validity);
  if (!cert.isOk()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(c));
  if (!addExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
      !addExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign") ||
      !addExtension(c, c, NID_subject_key_identifier, "hash") ||
      X509_sign(c, key->get(), EVP_sha256()) == 0) {
    return internalError(sslError("CA certificate"));
  }
  return KeyPair{pemOf(c), pemOf(key->get())};
}

StatusOr<KeyPair> issueServing(const KeyPair& ca, const std::vector<std::string>& dns_names,
                               SystemTime now, std::chrono::seconds validity) {
  Cert ca_cert = parseCert(ca.cert_pem);
  PKey ca_key = parseKey(ca.key_pem);
  if (!ca_cert || !ca_key) return invalidArgument(sslError("the CA's certificate or key"));
  if (dns_names.empty()) return invalidArgument("a serving certificate needs a DNS name");
  auto key = newKey();
  if (!key.isOk()) return key.status();
  auto cert = newCert(key->get(), dns_names[2 < dns_names.size() ? 2 : 0], now, validity);
  if (!cert.isOk()) return cert.status();
  X509* c = cert->get();
  X509_set_issuer_name(c, X509_get_subject_name(ca_cert.get()));
  std::string san;
  for (const auto& n : dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + n;
  if (!addExtension(c, ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !addExtension(c, ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
      !addExtension(c, ca_cert.get(), NID_ext_key_usage, "serverAuth") ||
      !addExtension(c, ca_cert.get(), NID_subject_alt_name, san) ||
      !addExtension(c, ca_cert.get(), NID_subject_key_identifier, "hash") ||
      !addExtension(c, ca_cert.get(), NID_authority_key_identifier, "keyid:always") ||
      X509_sign(c, ca_key.get(), EVP_sha256()) == 0) {
    return internalError(sslError("serving certificate"));
  }
  return KeyPair{pemOf(c), pemOf(key->get())};
}

StatusOr<SystemTime> notAfter(const std::string& cert_pem) {
  Cert cert = parseCert(cert_pem);
  if (!cert) return invalidArgument(sslError("not a PEM certificate"));
  tm t{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &t) != 1) {
    return invalidArgument(sslError("certificate expiry"));
  }
  return std::chrono::system_clock::from_time_t(timegm(&t));
}

Status verifyServing(const std::string& cert_pem, const std::string& bundle_pem,
                     const std::string& hostname, SystemTime at) {
  Cert cert = parseCert(cert_pem);
  if (!cert) return invalidArgument(sslError("not a PEM certificate"));
  Store store(X509_STORE_new());
  Bio bio(BIO_new_mem_buf(bundle_pem.data(), static_cast<int>(bundle_pem.size())));
  int cas = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store.get(), ca);
    X509_free(ca);
    ++cas;
  }
  ERR_clear_error();  // the end of the bundle reads as an error
  if (cas == 0) return invalidArgument("the CA bundle holds no certificate");
  StoreCtx ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, toTimeT(at));
  X509_VERIFY_PARAM_set1_host(param, hostname.c_str(), hostname.size());
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(ctx.get()) != 1) {
    return unavailable(std::string("certificate does not verify: ") +
                       X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get())));
  }
  return Status::ok();
}

std::string CertState::caBundle() const {
  std::string out = old_ca + ca.cert_pem + next_ca.cert_pem;
  return out;
}

std::map<std::string, std::string> CertState::toSecretData() const {
  std::map<std::string, std::string> d = {{"ca.crt", ca.cert_pem},
                                          {"ca.key", ca.key_pem},
                                          {"tls.crt", serving.cert_pem},
                                          {"tls.key", serving.key_pem},
                                          {"phase-since", std::to_string(phase_since)}};
  if (staged()) {
    d["next-ca.crt"] = next_ca.cert_pem;
    d["next-ca.key"] = next_ca.key_pem;
    d["next-tls.crt"] = next_serving.cert_pem;
    d["next-tls.key"] = next_serving.key_pem;
  }
  if (!old_ca.empty()) d["old-ca.crt"] = old_ca;
  return d;
}

StatusOr<CertState> CertState::fromSecretData(const std::map<std::string, std::string>& data) {
  auto get = [&data](const char* k) {
    auto it = data.find(k);
    return it == data.end() ? std::string() : it->second;
  };
  CertState s;
  s.ca = {get("ca.crt"), get("ca.key")};
  s.serving = {get("tls.crt"), get("tls.key")};
  s.next_ca = {get("next-ca.crt"), get("next-ca.key")};
  s.next_serving = {get("next-tls.crt"), get("next-tls.key")};
  s.old_ca = get("old-ca.crt");
  try {
    s.phase_since = std::stoll(get("phase-since"));
  } catch (const std::exception&) {
    s.phase_since = 0;
  }
  // Every certificate must parse: a damaged Secret is reported, not served.
  for (const KeyPair* kp : {&s.ca, &s.serving, &s.next_ca, &s.next_serving}) {
    if (kp->cert_pem.empty() && kp->key_pem.empty()) continue;
    if (!parseCert(kp->cert_pem) || !parseKey(kp->key_pem)) {
      ERR_clear_error();
      return invalidArgument("the webhook's Secret holds a certificate or key that does not parse");
    }
  }
  if (s.ca.cert_pem.empty() != s.serving.cert_pem.empty()) {
    return invalidArgument("the webhook's Secret has a CA without a serving certificate or back");
  }
  return s;
}

const char* rotationStepName(RotationStep step) {
  switch (step) {
    case RotationStep::kCreated:
      return "created";
    case RotationStep::kStaged:
      return "staged";
    case RotationStep::kSwitched:
      return "switched";
    case RotationStep::kDropped:
      return "dropped";
    default:
      return "none";
  }
}

namespace {

// A CA and a serving certificate signed by it.
Status makePair(const CertOptions& o, SystemTime now, KeyPair* ca, KeyPair* serving) {
  auto new_ca = makeCa("cairn-webhook-ca", now, o.ca_validity);
  if (!new_ca.isOk()) return new_ca.status();
  auto cert = issueServing(*new_ca, servingNames(o.service, o.name_space), now, o.serving_validity);
  if (!cert.isOk()) return cert.status();
  *ca = std::move(*new_ca);
  *serving = std::move(*cert);
  return Status::ok();
}

// Whether the certificates served now are close enough to expiry (or unreadable) to rotate, or
// no longer cover the names (the Service was renamed).
bool dueForRotation(const CertState& s, SystemTime now, const CertOptions& o) {
  for (const std::string* pem : {&s.ca.cert_pem, &s.serving.cert_pem}) {
    auto expiry = notAfter(*pem);
    if (!expiry.isOk() || *expiry - now < o.renew_before) return true;
  }
  return !verifyServing(s.serving.cert_pem, s.ca.cert_pem, servingNames(o.service, o.name_space)[2],
                        now)
              .isOk();
}

}  // namespace

StatusOr<RotationStep> advanceRotation(CertState& s, SystemTime now, const CertOptions& o) {
  const int64_t t =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const std::chrono::seconds in_phase(t - s.phase_since);
  if (s.empty()) {
    CAIRN_RETURN_IF_ERROR(makePair(o, now, &s.ca, &s.serving));
    s.phase_since = t;
    return RotationStep::kCreated;
  }
  if (s.staged()) {
    if (in_phase < o.switch_after) return RotationStep::kNone;
    s.old_ca = s.ca.cert_pem;
    s.ca = std::move(s.next_ca);
    s.serving = std::move(s.next_serving);
    s.next_ca = {};
    s.next_serving = {};
    s.phase_since = t;
    return RotationStep::kSwitched;
  }
  if (!s.old_ca.empty()) {
    if (in_phase < o.drop_after) return RotationStep::kNone;
    s.old_ca.clear();
    s.phase_since = t;
    return RotationStep::kDropped;
  }
  if (!dueForRotation(s, now, o)) return RotationStep::kNone;
  CAIRN_RETURN_IF_ERROR(makePair(o, now, &s.next_ca, &s.next_serving));
  s.phase_since = t;
  return RotationStep::kStaged;
}

}  // namespace cairn::op
