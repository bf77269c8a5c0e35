#include "core/tls/rpc_tls.h"

#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "core/base/logging.h"
#include "core/tls/file_io.h"
#include "core/tls/material.h"

namespace cairn::tls {
namespace {

namespace gx = grpc::experimental;

// How often gRPC looks at the private copy: the longest a reload takes to reach new handshakes.
constexpr unsigned kRefreshSeconds = 1;

}  // namespace

StatusOr<std::shared_ptr<RpcTls>> RpcTls::create(const TlsSettings& settings, bool serves,
                                                 std::string server_name) {
  if (settings.ca_file.empty()) {
    if (settings.serves()) {
      LOG_WARN("tls",
               "internal RPC stays in clear text: tls.internal_rpc has a certificate but "
               "no ca_file to check peers with");
    }
    return std::shared_ptr<RpcTls>();
  }
  if (serves && !settings.serves()) {
    return invalidArgument(settings.ca_file_key +
                           " is set but a server needs its own certificate for internal RPC: "
                           "set cert_file and key_file");
  }
  std::shared_ptr<RpcTls> t(new RpcTls());
  t->serves_ = serves;
  t->verify_incoming_ = settings.verify_incoming;
  t->has_identity_ = settings.serves();
  if (settings.verify_server_hostname) t->server_name_ = std::move(server_name);
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp && *tmp ? tmp : "/tmp") + "/cairn-rpc-tls-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) {
    return internalError("cannot make a directory for TLS files: " + std::string(strerror(errno)));
  }
  t->dir_ = dir;
  CAIRN_RETURN_IF_ERROR(t->install(settings));
  std::string ca = t->dir_ + "/ca.pem", cert = t->dir_ + "/cert.pem", key = t->dir_ + "/key.pem";
  t->provider_ =
      t->has_identity_
          ? std::make_shared<gx::FileWatcherCertificateProvider>(key, cert, ca, kRefreshSeconds)
          : std::make_shared<gx::FileWatcherCertificateProvider>(ca, kRefreshSeconds);
  gx::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(t->provider_);
  options.watch_root_certs();
  if (t->has_identity_) options.watch_identity_key_cert_pairs();
  options.set_verify_server_certs(true);  // the chain up to our CA, always
  if (t->server_name_.empty()) {
    // Consul without verify_server_hostname: any certificate of the CA will do.
    options.set_certificate_verifier(std::make_shared<gx::NoOpCertificateVerifier>());
    options.set_check_call_host(false);
  } else {
    options.set_certificate_verifier(std::make_shared<gx::HostNameCertificateVerifier>());
  }
  t->channel_creds_ = gx::TlsCredentials(options);
  if (!t->channel_creds_) return internalError("gRPC refused the TLS channel options");
  LOG_INFO("tls", "internal RPC uses TLS (client certificate "
                      << (t->has_identity_ ? "presented" : "none") << ", incoming "
                      << (t->verify_incoming_ ? "verified" : "not required") << ", server name "
                      << (t->server_name_.empty() ? "not checked" : t->server_name_) << ")");
  return t;
}

RpcTls::~RpcTls() {
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

Status RpcTls::install(const TlsSettings& settings) {
  auto material = loadMaterial(settings);
  if (!material.isOk()) return material.status();
  if (material->ca_pem.empty()) return invalidArgument("a reload cannot turn internal RPC TLS off");
  if (has_identity_ && material->cert_pem.empty()) {
    return invalidArgument("a reload cannot remove the certificate of internal RPC TLS");
  }
  std::lock_guard lock(mu_);
  CAIRN_RETURN_IF_ERROR(writeFile(dir_ + "/ca.pem", material->ca_pem, 0600, false));
  if (has_identity_) {
    // Key first, then certificate: a refresh that falls between the two renames may pair the
    // new key with the old certificate until the next refresh (a second later); handshakes in
    // that window fail and their callers retry.
    CAIRN_RETURN_IF_ERROR(writeFile(dir_ + "/key.pem", material->key_pem, 0600, false));
    CAIRN_RETURN_IF_ERROR(writeFile(dir_ + "/cert.pem", material->cert_pem, 0600, false));
  }
  return Status::ok();
}

Status RpcTls::reload(const TlsSettings& settings) { return install(settings); }

std::shared_ptr<grpc::ServerCredentials> RpcTls::serverCredentials() const {
  gx::TlsServerCredentialsOptions options(provider_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(verify_incoming_
                                    ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                    : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  return gx::TlsServerCredentials(options);
}

void RpcTls::addChannelArguments(grpc::ChannelArguments& args) const {
  if (!server_name_.empty()) args.SetSslTargetNameOverride(server_name_);
}

std::shared_ptr<grpc::ServerCredentials> serverCredentials(const RpcTls* tls) {
  return tls ? tls->serverCredentials() : grpc::InsecureServerCredentials();
}

std::shared_ptr<grpc::Channel> createChannel(const RpcTls* tls, const std::string& address,
                                             grpc::ChannelArguments args) {
  if (!tls) return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  tls->addChannelArguments(args);
  return grpc::CreateCustomChannel(address, tls->channelCredentials(), args);
}

}  // namespace cairn::tls
