#pragma once
// RpcTls: mutual TLS for every gRPC connection between agents (server <-> server Raft and
// forwarding, client agents and sidecars -> servers), from the tls.internal_rpc settings.
//
// Reload without dropping the cluster: gRPC credentials cannot be swapped on a running server,
// so both sides take their certificates from a gRPC FileWatcherCertificateProvider watching a
// private copy of the PEM files (a 0700 temporary directory). create() and reload() check the
// configured files (core/tls/material.h) and only then replace the copy, each file by an atomic
// rename; gRPC reads the copy again within a second, and new handshakes use it. Connections
// already up keep their session. Editing the configured files does nothing until a reload.
//
// Threading: thread-safe; reload() may run while channels are created and calls are made.

#include <grpcpp/grpcpp.h>

#include <memory>
#include <mutex>
#include <string>

#include "core/base/status.h"
#include "core/tls/settings.h"

namespace grpc::experimental {
class FileWatcherCertificateProvider;
}  // namespace grpc::experimental

namespace cairn::tls {

class RpcTls {
 public:
  // Null (plain gRPC) when `settings` has no ca_file. A server (`serves`) also needs its
  // certificate and key; a client agent may have none (then it shows no certificate, and servers
  // with verify_incoming refuse it). `server_name` is server.<datacenter>.<domain>: with
  // verify_server_hostname, the name a server's certificate must carry.
  static StatusOr<std::shared_ptr<RpcTls>> create(const TlsSettings& settings, bool serves,
                                                  std::string server_name);
  ~RpcTls();
  RpcTls(const RpcTls&) = delete;
  RpcTls& operator=(const RpcTls&) = delete;

  // Checks the files of `settings` and makes them the ones new handshakes use. On error nothing
  // changes. Whether a client certificate is required (verify_incoming) is fixed at create().
  Status reload(const TlsSettings& settings);

  std::shared_ptr<grpc::ServerCredentials> serverCredentials() const;
  std::shared_ptr<grpc::ChannelCredentials> channelCredentials() const { return channel_creds_; }
  // Adds the target name override (verify_server_hostname) to channel arguments.
  void addChannelArguments(grpc::ChannelArguments& args) const;

 private:
  RpcTls() = default;
  Status install(const TlsSettings& settings);

  bool serves_ = false;
  bool verify_incoming_ = false;
  bool has_identity_ = false;
  std::string server_name_;  // empty: the dialed address is not checked against the certificate
  std::string dir_;
  std::mutex mu_;  // serializes install()
  std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> provider_;
  std::shared_ptr<grpc::ChannelCredentials> channel_creds_;
};

// Null-safe helpers: plain (insecure) credentials when `tls` is null.
std::shared_ptr<grpc::ServerCredentials> serverCredentials(const RpcTls* tls);
std::shared_ptr<grpc::Channel> createChannel(const RpcTls* tls, const std::string& address,
                                             grpc::ChannelArguments args);

}  // namespace cairn::tls
