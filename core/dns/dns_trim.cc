// Transport limits and encoding of responses (limitAndEncode in dns_resolver.h).
#include <algorithm>
#include <deque>
#include <set>

#include "core/dns/dns_name.h"
#include "core/dns/dns_resolver.h"

namespace cairn::dns {
namespace {

constexpr size_t kMaxTcpAnswers = 4096;
constexpr size_t kMaxTcpSrvAnswers = 1024;

std::string recordKey(const ResourceRecord& rr) {
  std::string key = asciiLower(rr.name);
  key += '\0';
  key += std::to_string(rr.type);
  if (const auto* a = std::get_if<AddressData>(&rr.data)) key += a->bytes;
  if (const auto* n = std::get_if<NameData>(&rr.data)) key += asciiLower(n->name);
  return key;
}

// The records of `pool` that the answers and authority refer to (SRV targets, NS names, CNAME
// targets, and CNAME chains inside the pool), each once.
std::vector<ResourceRecord> referencedAdditional(const Message& m,
                                                 const std::vector<ResourceRecord>& pool) {
  std::deque<std::string> pending;
  for (const auto* section : {&m.answers, &m.authority}) {
    for (const ResourceRecord& rr : *section) {
      if (const auto* srv = std::get_if<SrvData>(&rr.data)) pending.push_back(srv->target);
      if (const auto* n = std::get_if<NameData>(&rr.data)) pending.push_back(n->name);
    }
  }
  std::set<std::string> visited, emitted;
  std::vector<ResourceRecord> out;
  while (!pending.empty()) {
    std::string name = asciiLower(pending.front());
    pending.pop_front();
    if (!visited.insert(name).second) continue;
    for (const ResourceRecord& rr : pool) {
      if (!sameName(rr.name, name) || !emitted.insert(recordKey(rr)).second) continue;
      out.push_back(rr);
      if (rr.type == kTypeCname) pending.push_back(std::get<NameData>(rr.data).name);
    }
  }
  return out;
}

std::vector<uint8_t> serverFailure(const Message& response) {
  Message m;
  m.header = response.header;
  m.header.rcode = kRcodeServFail;
  m.questions = response.questions;
  StatusOr<std::vector<uint8_t>> wire = encodeMessage(m);
  if (wire.isOk()) return std::move(wire).value();
  m.questions.clear();
  return std::move(encodeMessage(m)).value();
}

struct Limits {
  size_t max_size = kMaxMessageSize;
  size_t max_answers = kMaxTcpAnswers;
};

Limits limitsFor(const Message& query, Transport transport, const DnsConfig& config) {
  Limits l;
  bool srv = !query.questions.empty() && query.questions[0].type == kTypeSrv;
  if (transport == Transport::kTcp) {
    if (srv) l.max_answers = kMaxTcpSrvAnswers;
    return l;
  }
  l.max_size = kDefaultUdpSize;
  if (query.edns && query.edns->udp_size > kDefaultUdpSize) {
    l.max_size = std::min<size_t>(query.edns->udp_size, kMaxUdpSize);
  }
  if (l.max_size == kDefaultUdpSize) {
    l.max_answers = static_cast<size_t>(std::clamp(config.udp_answer_limit, 1, kMaxUdpAnswerLimit));
  }
  return l;
}

// Encodes `response` with its first `n` answers and the additional records they need.
StatusOr<std::vector<uint8_t>> encodeFirst(Message response,
                                           const std::vector<ResourceRecord>& pool, size_t n) {
  response.answers.resize(std::min(n, response.answers.size()));
  response.additional = referencedAdditional(response, pool);
  return encodeMessage(response);
}

// The largest answer count in [1, hi] whose encoding fits, or 1.
size_t fittingCount(const Message& response, const std::vector<ResourceRecord>& pool, size_t hi,
                    size_t max_size) {
  size_t lo = 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo + 1) / 2;
    StatusOr<std::vector<uint8_t>> wire = encodeFirst(response, pool, mid);
    if (wire.isOk() && wire->size() <= max_size) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace

std::vector<uint8_t> limitAndEncode(const Message& query, Message response, Transport transport,
                                    const DnsConfig& config) {
  Limits limits = limitsFor(query, transport, config);
  auto tooBig = [&](const StatusOr<std::vector<uint8_t>>& w) {
    return w.isOk() ? w->size() > limits.max_size : w.status().code() == StatusCode::kTooLarge;
  };
  std::vector<ResourceRecord> pool = std::move(response.additional);
  size_t total = response.answers.size();
  if (response.answers.size() > limits.max_answers) response.answers.resize(limits.max_answers);
  StatusOr<std::vector<uint8_t>> wire = encodeFirst(response, pool, response.answers.size());
  if (tooBig(wire) && response.answers.size() > 1) {
    response.authority.clear();
    size_t n = fittingCount(response, pool, response.answers.size(), limits.max_size);
    response.answers.resize(n);
    wire = encodeFirst(response, pool, n);
  }
  bool truncated = response.answers.size() < total;
  if (tooBig(wire)) {
    response.authority.clear();
    pool.clear();
    wire = encodeFirst(response, pool, response.answers.size());
    if (tooBig(wire)) {
      response.answers.clear();
      wire = encodeFirst(response, pool, 0);
      if (tooBig(wire)) {
        response.questions.clear();
        wire = encodeFirst(response, pool, 0);
      }
      truncated = true;
      response.header.tc = true;
    }
  }
  if (!wire.isOk()) return serverFailure(response);
  std::vector<uint8_t> bytes = std::move(wire).value();
  if (truncated && (config.enable_truncate || response.header.tc)) bytes[2] |= 0x02;
  return bytes;
}

}  // namespace cairn::dns
