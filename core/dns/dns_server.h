#pragma once
// DnsServer: serves the resolver over UDP and TCP (RFC 1035 §4.2, 2-byte length framing on TCP)
// on one Boost.Asio io_context thread of its own. Untrusted input never crashes or stalls it:
// malformed packets get FORMERR or are dropped, a TCP connection must deliver each query and
// read each answer within the idle timeout, and connections beyond the limit are closed at once.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/status.h"
#include "core/dns/dns_catalog.h"
#include "core/dns/dns_resolver.h"

namespace cairn::dns {

struct DnsServerOptions {
  std::chrono::milliseconds tcp_idle_timeout{10'000};
  size_t max_tcp_connections = 128;
  int bind_attempts = 32;  // port 0: tries to find a number free for both UDP and TCP
  // When set, answers every query instead of the local resolver and catalog (a client agent
  // forwards the packet to a server). Called on the server's one thread: it blocks that thread,
  // so it must bound its own wait.
  std::function<std::optional<std::vector<uint8_t>>(std::span<const uint8_t>, Transport)> forward;
};

class DnsServer {
 public:
  // Binds UDP, then TCP on the same port number, and starts serving. Port 0 picks a free port
  // (retrying when the TCP number is taken). `catalog` must outlive the server.
  static StatusOr<std::unique_ptr<DnsServer>> start(const std::string& bind_address, int port,
                                                    DnsConfig config, const DnsCatalog& catalog,
                                                    DnsServerOptions options = {});

  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;
  ~DnsServer();  // stop()

  int port() const;
  // Closes the sockets and joins the serving thread. Idempotent; not from a catalog callback.
  void stop();

  struct Impl;

 private:
  explicit DnsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::dns
