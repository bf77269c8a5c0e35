#include "agent/client/server_connection.h"

#include <algorithm>
#include <thread>

#include "core/base/logging.h"

namespace cairn::agent::client {
namespace {

grpc::ChannelArguments channelArguments(const ServerConnection::Options& o) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(o.max_message_bytes);
  args.SetMaxSendMessageSize(o.max_message_bytes);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(o.keepalive_time.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(o.keepalive_timeout.count()));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // A failed server is replaced by another, not waited for: keep reconnects short.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  // Also the connect attempt's deadline (gRPC's default is 20 s): a server that drops SYNs must
  // not hold a client's reads that long before they move on.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, static_cast<int>(o.connect_timeout.count()));
  // The channel of a server that is no longer current closes its connection once unused (the
  // current one carries heartbeats every 2 s, so it never idles).
  args.SetInt(GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, 60000);
  // Subchannels are not shared with other channels of the process (the servers' own peer
  // channels in an in-process test cluster).
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return args;
}

}  // namespace

ServerConnection::ServerConnection(const Clock& clock, Options options)
    : clock_(clock), options_(options), picker_(options.cooldown) {}

ServerConnection::~ServerConnection() {
  // A call still in flight (a heartbeat, within its 1.5 s deadline) would drop the last
  // reference to its channel on a gRPC callback thread: wait for those first, boundedly.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  std::unique_lock lock(mu_);
  for (auto& [address, k] : kept_) retired_.push_back(std::move(k));
  kept_.clear();
  target_.reset();
  lock.unlock();
  while (releaseRetired() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!retired_.empty()) LOG_WARN("client", "server channels still in use at shutdown");
}

void ServerConnection::setServers(const std::vector<std::string>& addresses) {
  std::lock_guard lock(mu_);
  uint64_t before = picker_.generation();
  picker_.setServers(addresses);
  retireUnknownLocked();
  if (!target_ || picker_.generation() != before) pickLocked();
}

void ServerConnection::addServers(const std::vector<std::string>& addresses) {
  std::vector<std::string> all;
  {
    std::lock_guard lock(mu_);
    all = picker_.servers();
  }
  all.insert(all.end(), addresses.begin(), addresses.end());
  setServers(all);  // the picker drops duplicates and keeps the current server
}

std::vector<std::string> ServerConnection::servers() const {
  std::lock_guard lock(mu_);
  return picker_.servers();
}

const ServerConnection::Kept& ServerConnection::keptLocked(const std::string& address) {
  Kept& k = kept_[address];
  if (!k.channel) {
    k.channel = tls::createChannel(options_.tls.get(), address, channelArguments(options_));
    k.stub = std::shared_ptr<v1::ClientRpc::Stub>(v1::ClientRpc::NewStub(k.channel));
    ++created_;
  }
  return k;
}

void ServerConnection::retireUnknownLocked() {
  const std::vector<std::string>& known = picker_.servers();
  for (auto it = kept_.begin(); it != kept_.end();) {
    if (std::find(known.begin(), known.end(), it->first) != known.end()) {
      ++it;
      continue;
    }
    // Released by releaseRetired() on the owner's thread; this may be a gRPC callback.
    retired_.push_back(std::move(it->second));
    it = kept_.erase(it);
  }
}

void ServerConnection::pickLocked() {
  std::string address = picker_.current();
  if (address.empty()) {
    target_.reset();
    return;
  }
  const Kept& k = keptLocked(address);
  // A server picked again after a failure is tried now, not after the rest of the channel's
  // reconnect back-off: the callers' own retry pauses bound how often that happens.
  if (k.channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
    grpc::experimental::ChannelResetConnectionBackoff(k.channel.get());
  }
  target_ = Target{k.stub, k.channel, address, picker_.generation()};
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
  pickLocked();
}

ServerConnection::Target ServerConnection::failureOf(const Target& target) {
  return Target{nullptr, nullptr, target.address, target.generation};
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
    failed = failureOf(*target_);
  }
  reportFailure(*failed);
}

grpc_connectivity_state ServerConnection::state(const Target& target, bool connect) {
  return target.channel->GetState(connect);
}

void ServerConnection::probe(const std::string& address, Nanos timeout,
                             std::function<void(Status)> done) {
  struct Call {
    grpc::ClientContext context;
    v1::HttpEnvelope request;
    v1::HttpReply reply;
  };
  std::shared_ptr<v1::ClientRpc::Stub> stub;
  {
    std::lock_guard lock(mu_);
    const Kept& k = keptLocked(address);
    // A join retried after a failure tries now, not after the channel's reconnect back-off.
    if (k.channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
      grpc::experimental::ChannelResetConnectionBackoff(k.channel.get());
    }
    stub = k.stub;
  }
  auto call = std::make_shared<Call>();
  call->context.set_deadline(
      std::chrono::system_clock::now() +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(timeout));
  call->request.set_method("GET");
  call->request.set_path("/v1/status/leader");
  Call* raw = call.get();
  // The callback keeps the call's buffers, never the stub (see "Channel teardown").
  stub->async()->Http(&raw->context, &raw->request, &raw->reply,
                      [call, done = std::move(done)](grpc::Status s) {
                        if (s.ok()) return done(Status::ok());
                        done(unavailable(s.error_message()));
                      });
}

size_t ServerConnection::releaseRetired() {
  std::vector<Kept> idle;  // destroyed after the lock is released
  std::lock_guard lock(mu_);
  for (auto it = retired_.begin(); it != retired_.end();) {
    // Only this entry and its stub hold the channel, and nobody holds the stub: no call uses
    // it, and none can start (the connection no longer hands it out).
    bool unused = it->stub.use_count() == 1 && it->channel.use_count() == 2;
    if (!unused) {
      ++it;
      continue;
    }
    idle.push_back(std::move(*it));
    it = retired_.erase(it);
  }
  return kept_.size() + retired_.size();
}

uint64_t ServerConnection::channelsCreated() const {
  std::lock_guard lock(mu_);
  return created_;
}

}  // namespace cairn::agent::client
