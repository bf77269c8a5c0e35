#include "core/dns/dns_resolver.h"

#include <algorithm>

#include "core/dns/dns_lookup.h"
#include "core/dns/dns_name.h"

namespace cairn::dns {
namespace {

using internal::LookupResult;

constexpr std::string_view kKeywords[] = {"service", "connect", "virtual", "ingress",
                                          "node",    "query",   "addr"};

struct ParsedName {
  std::string kind;                 // a keyword, or empty when none was found
  std::vector<std::string> parts;   // labels before the keyword
  std::vector<std::string> suffix;  // labels between the keyword and the domain
};

bool isKeyword(std::string_view label) {
  return std::find(std::begin(kKeywords), std::end(kKeywords), label) != std::end(kKeywords);
}

// Labels are read right to left until a keyword; for SRV a label starting with '_' also starts
// a service name (the "service" label is optional in RFC 2782 form).
ParsedName parseLabels(const std::vector<std::string>& labels, uint16_t qtype) {
  ParsedName p;
  for (size_t i = labels.size(); i-- > 0;) {
    if (isKeyword(labels[i])) {
      p.kind = labels[i];
      p.parts.assign(labels.begin(), labels.begin() + i);
    } else if (qtype == kTypeSrv && labels[i].starts_with('_')) {
      p.kind = "service";
      p.parts.assign(labels.begin(), labels.begin() + i + 1);
    } else {
      continue;
    }
    p.suffix.assign(labels.begin() + i + 1, labels.end());
    break;
  }
  return p;
}

// Accepts no suffix, "<dc>" or "<dc>.dc" naming the local datacenter.
bool localDatacenter(const std::vector<std::string>& suffix, const DnsConfig& config) {
  if (suffix.empty()) return true;
  if (suffix.size() == 1) return suffix[0] == config.datacenter;
  return suffix.size() == 2 && suffix[1] == "dc" && suffix[0] == config.datacenter;
}

std::string join(const std::vector<std::string>& parts, size_t from, size_t to) {
  std::string out;
  for (size_t i = from; i < to; ++i) {
    if (i > from) out += '.';
    out += parts[i];
  }
  return out;
}

LookupResult serviceLookup(const ResolveContext& ctx, const Question& q,
                           const std::vector<std::string>& parts) {
  size_t n = parts.size();
  if (n == 2 && parts[0].starts_with('_') && parts[1].starts_with('_')) {
    std::string tag = parts[1].substr(1);
    if (tag == "tcp") tag.clear();
    return internal::lookupService(ctx, q, parts[0].substr(1), tag);
  }
  return internal::lookupService(ctx, q, parts[n - 1], join(parts, 0, n - 1));
}

LookupResult dispatch(const ResolveContext& ctx, const Question& q,
                      const std::vector<std::string>& labels) {
  ParsedName p = parseLabels(labels, q.type);
  if (p.parts.empty() || !localDatacenter(p.suffix, ctx.config)) return {};
  if (p.kind == "service") return serviceLookup(ctx, q, p.parts);
  if (p.kind == "node") return internal::lookupNode(ctx, q, join(p.parts, 0, p.parts.size()));
  if (p.kind == "addr" && p.parts.size() == 1) return internal::lookupAddr(ctx, q, p.parts[0]);
  // A query name may hold dots (Consul joins the labels).
  if (p.kind == "query") return internal::lookupQuery(ctx, q, join(p.parts, 0, p.parts.size()));
  return {};  // mesh names and unknown forms do not exist
}

LookupResult apex(const ResolveContext& ctx, const Question& q) {
  LookupResult r;
  r.exists = true;
  if (q.type == kTypeSoa || q.type == kTypeAny) r.answers.push_back(internal::soaRecord(ctx));
  if (q.type != kTypeSoa && q.type != kTypeNs && q.type != kTypeAny) return r;
  std::vector<ResourceRecord> ns = internal::nameServers(ctx, r.additional);
  std::vector<ResourceRecord>& target = q.type == kTypeSoa ? r.authority : r.answers;
  for (ResourceRecord& rr : ns) target.push_back(std::move(rr));
  return r;
}

Message replyTo(const Message& query) {
  Message m;
  m.header.id = query.header.id;
  m.header.qr = true;
  m.header.opcode = query.header.opcode;
  m.header.rd = query.header.rd;
  m.header.cd = query.header.cd;
  m.questions = query.questions;
  return m;
}

void echoEdns(const Message& query, Message& response) {
  if (!query.edns) return;
  Edns edns;
  edns.udp_size =
      static_cast<uint16_t>(std::clamp<size_t>(query.edns->udp_size, kDefaultUdpSize, kMaxUdpSize));
  for (const EdnsOption& o : query.edns->options) {
    if (o.code != kEdnsOptionClientSubnet || o.data.size() < 4) continue;
    EdnsOption subnet = o;
    subnet.data[3] = 0;  // scope prefix 0: every answer here is valid for any client
    edns.options.push_back(std::move(subnet));
  }
  response.edns = std::move(edns);
}

bool hasSuffix(const std::vector<std::string>& labels, const std::vector<std::string>& suffix) {
  return labels.size() >= suffix.size() &&
         std::equal(suffix.rbegin(), suffix.rend(), labels.rbegin());
}

std::vector<std::string> lowerLabels(std::string_view name) {
  StatusOr<std::vector<std::string>> labels = splitName(name);
  std::vector<std::string> out =
      labels.isOk() ? std::move(labels).value() : std::vector<std::string>{};
  for (std::string& l : out) l = asciiLower(l);
  return out;
}

void fillFromLookup(const ResolveContext& ctx, LookupResult r, Message& m) {
  if (!r.exists) m.header.rcode = kRcodeNxDomain;
  if (r.answers.empty()) m.authority.push_back(internal::soaRecord(ctx));
  for (ResourceRecord& rr : r.authority) m.authority.push_back(std::move(rr));
  m.answers = std::move(r.answers);
  m.additional = std::move(r.additional);
}

}  // namespace

StatusOr<DnsConfig> normalizeConfig(DnsConfig config) {
  config.domain = asciiLower(fqdn(config.domain));
  config.datacenter = asciiLower(config.datacenter);
  StatusOr<std::vector<std::string>> domain = splitName(config.domain);
  if (!domain.isOk() || domain->empty()) return invalidArgument("dns: bad domain " + config.domain);
  StatusOr<std::vector<std::string>> dc = splitName(config.datacenter);
  if (!dc.isOk() || dc->size() != 1) return invalidArgument("dns: bad datacenter");
  if (config.udp_answer_limit < 1) return invalidArgument("dns: udp_answer_limit must be >= 1");
  config.udp_answer_limit = std::min(config.udp_answer_limit, kMaxUdpAnswerLimit);
  return config;
}

Message answerQuery(const Message& query, const ResolveContext& ctx) {
  Message m = replyTo(query);
  echoEdns(query, m);
  if (query.questions.size() != 1) {
    m.questions.clear();  // never echo a pile of questions back
    m.header.rcode = query.header.opcode != kOpcodeQuery ? kRcodeNotImp : kRcodeFormErr;
    return m;
  }
  if (query.header.opcode != kOpcodeQuery) {
    m.header.rcode = kRcodeNotImp;
    return m;
  }
  if (query.edns && query.edns->version != 0) {
    m.header.rcode = kRcodeBadVers;
    return m;
  }
  const Question& q = query.questions[0];
  std::vector<std::string> labels = lowerLabels(q.name);
  std::vector<std::string> domain = lowerLabels(ctx.config.domain);
  bool in_domain = hasSuffix(labels, domain);
  if (!in_domain && (labels.empty() || labels.back() != "arpa")) {
    m.header.rcode = kRcodeRefused;  // no recursors: out-of-zone names are refused
    return m;
  }
  m.header.aa = true;
  if (q.type == kTypeAxfr || q.type == kTypeIxfr) {
    m.header.rcode = kRcodeNotImp;
    return m;
  }
  if (!in_domain) {
    fillFromLookup(ctx, internal::lookupPtr(ctx, q, labels), m);
    return m;
  }
  labels.resize(labels.size() - domain.size());
  fillFromLookup(ctx, labels.empty() ? apex(ctx, q) : dispatch(ctx, q, labels), m);
  return m;
}

std::vector<uint8_t> resolveMessage(const Message& query, Transport transport,
                                    const ResolveContext& ctx) {
  return limitAndEncode(query, answerQuery(query, ctx), transport, ctx.config);
}

std::optional<std::vector<uint8_t>> resolveQuery(std::span<const uint8_t> query,
                                                 Transport transport, const ResolveContext& ctx) {
  StatusOr<Header> header = parseHeader(query);
  if (!header.isOk() || header->qr) return std::nullopt;
  StatusOr<Message> parsed = parseMessage(query);
  if (parsed.isOk()) return resolveMessage(*parsed, transport, ctx);
  Message formerr;
  formerr.header.id = header->id;
  formerr.header.qr = true;
  formerr.header.opcode = header->opcode;
  formerr.header.rd = header->rd;
  formerr.header.rcode = kRcodeFormErr;
  return limitAndEncode(formerr, formerr, transport, ctx.config);
}

}  // namespace cairn::dns
