#include "agent/client/server_connection.h"

#include "core/base/logging.h"

namespace cairn::agent::client {

ServerConnection::ServerConnection(const Clock& clock, Options options)
    : clock_(clock), options_(options), picker_(options.cooldown) {}

void ServerConnection::setServers(const std::vector<std::string>& addresses) {
  std::lock_guard lock(mu_);
  uint64_t before = picker_.generation();
  picker_.setServers(addresses);
  if (!target_ || picker_.generation() != before) openLocked();
}

std::vector<std::string> ServerConnection::servers() const {
  std::lock_guard lock(mu_);
  return picker_.servers();
}

void ServerConnection::openLocked() {
  std::string address = picker_.current();
  if (address.empty()) {
    target_.reset();
    return;
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options_.max_message_bytes);
  args.SetMaxSendMessageSize(options_.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(options_.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(options_.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A failed server is replaced by another, not retried by the channel: keep reconnects short.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Also the connect attempt's deadline (gRPC's default is 20 s): a server that drops SYNs must
  // not hold a client's reads that long before they move on.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
              static_cast<int>(options_.connect_timeout.count()));
  // A distinct channel per generation, so a failed server's subchannel is not shared.
  args.SetInt("cairn.client_generation", static_cast<int>(picker_.generation()));
  Target t;
  t.channel = tls::createChannel(options_.tls.get(), address, args);
  t.stub = std::shared_ptr<v1::ClientRpc::Stub>(v1::ClientRpc::NewStub(t.channel));
  t.address = address;
  t.generation = picker_.generation();
  target_ = std::move(t);
  LOG_INFO("client", "using server " << address);
}

std::optional<ServerConnection::Target> ServerConnection::target() {
  std::lock_guard lock(mu_);
  return target_;
}

void ServerConnection::reportFailure(const Target& target) {
  std::lock_guard lock(mu_);
  if (!target_ || target.generation != target_->generation) return;
  picker_.markFailed(target.generation, clock_.now());
  LOG_WARN("client", "server " << target.address << " failed; moving to " << picker_.current());
  openLocked();
}

std::shared_ptr<grpc::Channel> ServerConnection::channel() {
  std::lock_guard lock(mu_);
  return target_ ? target_->channel : nullptr;
}

void ServerConnection::reportChannelFailure(const std::shared_ptr<grpc::Channel>& channel) {
  std::optional<Target> failed;
  {
    std::lock_guard lock(mu_);
    if (!target_ || target_->channel != channel) return;
    failed = target_;
  }
  reportFailure(*failed);
}

grpc_connectivity_state ServerConnection::state(const Target& target, bool connect) {
  return target.channel->GetState(connect);
}

}  // namespace cairn::agent::client
