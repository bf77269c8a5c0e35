#pragma once
// The DNS resolver: answers one query packet from a DnsCatalog (docs/consul-api.md §10). Pure: no
// sockets, no threads, no clock; randomness and the SOA serial are passed in.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/random.h"
#include "core/base/status.h"
#include "core/dns/dns_catalog.h"
#include "core/dns/dns_message.h"

namespace cairn::dns {

enum class Transport { kUdp, kTcp };

inline constexpr int kMaxUdpAnswerLimit = 8;
inline constexpr size_t kDefaultUdpSize = 512;
inline constexpr size_t kMaxUdpSize = 65467;  // 65535 minus IP and UDP headers

struct DnsSoaConfig {
  uint32_t refresh = 3600, retry = 600, expire = 86400, min_ttl = 0;  // seconds
};

struct DnsConfig {
  std::string domain = "consul.";
  std::string datacenter = "dc1";
  uint32_t node_ttl = 0;     // seconds
  uint32_t service_ttl = 0;  // seconds, for services service_ttl_by_name does not match
  // Added: per-service TTLs; a key is an exact service name or "prefix*" (longest prefix wins,
  // exact beats prefix). Keys compare case-insensitively.
  std::map<std::string, uint32_t> service_ttl_by_name;
  int udp_answer_limit = 3;      // answers per UDP response without EDNS; 1..8
  bool only_passing = false;     // drop warning instances too
  bool enable_truncate = false;  // set TC when answers were cut
  DnsSoaConfig soa;              // added: SOA timers
};

// The config as the resolver needs it: domain lower-case and absolute, datacenter lower-case,
// udp_answer_limit clamped to 8. Fails on an unusable domain or datacenter or a limit below 1.
StatusOr<DnsConfig> normalizeConfig(DnsConfig config);

// Everything one answer depends on. `config` must come from normalizeConfig. `random` is used
// from the calling thread only.
struct ResolveContext {
  const DnsConfig& config;
  const DnsCatalog& catalog;
  Random& random;
  uint32_t soa_serial;  // unix time in production
};

// The response to one query packet, or nothing when the packet must be dropped (shorter than a
// header, or itself a response). Malformed queries with a readable header get FORMERR.
std::optional<std::vector<uint8_t>> resolveQuery(std::span<const uint8_t> query,
                                                 Transport transport, const ResolveContext& ctx);

// The same for a parsed query; never empty.
std::vector<uint8_t> resolveMessage(const Message& query, Transport transport,
                                    const ResolveContext& ctx);

// The response before transport limits (exposed for tests).
Message answerQuery(const Message& query, const ResolveContext& ctx);

// Applies the transport's size and answer-count limits to `response` (additional records are
// kept only for kept answers) and encodes it.
std::vector<uint8_t> limitAndEncode(const Message& query, Message response, Transport transport,
                                    const DnsConfig& config);

}  // namespace cairn::dns
