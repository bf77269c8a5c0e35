// Record building for node, service, addr and PTR names (internal, see dns_lookup.h).
#include <algorithm>
#include <set>

#include "core/dns/dns_lookup.h"
#include "core/dns/dns_name.h"

namespace cairn::dns::internal {
namespace {

constexpr std::string_view kRfc1035Prefix = "rfc1035-";
constexpr size_t kMaxServers = 3;

bool wantsA(uint16_t t) { return t == kTypeA || t == kTypeAny; }
bool wantsAaaa(uint16_t t) { return t == kTypeAaaa || t == kTypeAny; }

bool wantsAddress(uint16_t qtype, const std::string& raw_ip) {
  return raw_ip.size() == 4 ? wantsA(qtype) : wantsAaaa(qtype);
}

uint16_t clampU16(int v) { return static_cast<uint16_t>(std::clamp(v, 0, 0xFFFF)); }

std::string hexOf(const std::string& raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 0xF];
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 1464: backquote '`' and '=' in the key, and its leading and trailing spaces.
std::string rfc1464(std::string_view key, std::string_view value) {
  size_t lead = 0;
  while (lead < key.size() && key[lead] == ' ') ++lead;
  size_t trail = 0;
  while (trail < key.size() - lead && key[key.size() - 1 - trail] == ' ') ++trail;
  std::string out;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '`' || c == '=' || (c == ' ' && (i < lead || i >= key.size() - trail))) out += '`';
    out += c;
  }
  out += '=';
  for (char c : value) {
    if (c == '`') out += '`';
    out += c;
  }
  return out;
}

std::vector<ResourceRecord> metaTxt(const std::string& owner, const DnsNode& node, uint32_t ttl) {
  std::vector<ResourceRecord> out;
  for (const auto& [key, value] : node.meta) {
    bool raw =
        key.size() >= kRfc1035Prefix.size() &&
        equalsIgnoreCase(std::string_view(key).substr(0, kRfc1035Prefix.size()), kRfc1035Prefix);
    out.push_back(ResourceRecord::txt(owner, ttl, {raw ? value : rfc1464(key, value)}));
  }
  return out;
}

// A/AAAA for an IP address, CNAME for a hostname, nothing for an unwanted family.
std::vector<ResourceRecord> addressRecords(const std::string& owner, const std::string& address,
                                           uint16_t qtype, uint32_t ttl) {
  std::string ip = parseIp(address);
  if (!ip.empty()) {
    if (!wantsAddress(qtype, ip)) return {};
    return {ResourceRecord::address(owner, ttl, std::move(ip))};
  }
  std::string target = dottedToName(address);
  if (address.empty() || !encodable(target)) return {};
  return {ResourceRecord::withName(owner, kTypeCname, ttl, std::move(target))};
}

uint32_t serviceTtl(const DnsConfig& config, std::string_view service) {
  std::string name = asciiLower(service);
  const std::string* best = nullptr;
  for (const auto& [key, ttl] : config.service_ttl_by_name) {
    std::string k = asciiLower(key);
    if (k == name) return ttl;
    if (!k.empty() && k.back() == '*' && name.compare(0, k.size() - 1, k, 0, k.size() - 1) == 0 &&
        (best == nullptr || key.size() > best->size())) {
      best = &key;
    }
  }
  return best ? config.service_ttl_by_name.at(*best) : config.service_ttl;
}

bool hasTag(const DnsServiceInstance& instance, std::string_view tag) {
  return std::any_of(instance.tags.begin(), instance.tags.end(),
                     [&](const std::string& t) { return equalsIgnoreCase(t, tag); });
}

std::vector<DnsServiceInstance> healthyInstances(const ResolveContext& ctx,
                                                 std::string_view service, std::string_view tag) {
  std::vector<DnsServiceInstance> out;
  for (DnsServiceInstance& i : ctx.catalog.serviceInstances(service)) {
    if (i.health == InstanceHealth::kCritical) continue;
    if (i.health == InstanceHealth::kWarning && ctx.config.only_passing) continue;
    if (!tag.empty() && !hasTag(i, tag)) continue;
    out.push_back(std::move(i));
  }
  return out;
}

void addSrv(const ResolveContext& ctx, const Question& q, const DnsServiceInstance& i, uint32_t ttl,
            LookupResult& result) {
  const std::string& address = i.service_address.empty() ? i.node.address : i.service_address;
  std::string ip = parseIp(address);
  std::string target;
  if (ip.empty()) {
    if (address.empty()) return;
    target = dottedToName(address);
  } else if (i.service_address.empty()) {
    target = nodeFqdn(ctx.config, i.node.name);
  } else {
    target = hexOf(ip) + ".addr." + ctx.config.datacenter + "." + ctx.config.domain;
  }
  if (!encodable(target)) return;
  int weight = i.health == InstanceHealth::kWarning ? i.weight_warning : i.weight_passing;
  result.answers.push_back(
      ResourceRecord::srv(q.name, ttl, {1, clampU16(weight), clampU16(i.port), target}));
  if (!ip.empty()) result.additional.push_back(ResourceRecord::address(target, ttl, ip));
}

void addServiceAddress(const Question& q, const DnsServiceInstance& i, uint32_t ttl,
                       std::vector<ResourceRecord>& cname, std::set<std::string>& seen,
                       LookupResult& result) {
  const std::string& address = i.service_address.empty() ? i.node.address : i.service_address;
  for (ResourceRecord& rr : addressRecords(q.name, address, q.type, ttl)) {
    if (rr.type == kTypeCname) {
      if (cname.empty()) cname.push_back(std::move(rr));
    } else if (seen.insert(std::get<AddressData>(rr.data).bytes).second) {
      result.answers.push_back(std::move(rr));
    }
  }
}

// A/AAAA/CNAME (or SRV) records for `instances` in their order; none: NXDOMAIN.
LookupResult instanceRecords(const ResolveContext& ctx, const Question& q,
                             const std::vector<DnsServiceInstance>& instances, uint32_t ttl) {
  LookupResult result;
  if (instances.empty()) return result;
  result.exists = true;
  std::set<std::string> seen;
  std::vector<ResourceRecord> cname;
  for (const DnsServiceInstance& i : instances) {
    if (q.type == kTypeSrv) {
      const std::string& address = i.service_address.empty() ? i.node.address : i.service_address;
      std::string tuple = asciiLower(i.node.name) + '\0' + address + '\0' + std::to_string(i.port);
      if (seen.insert(tuple).second) addSrv(ctx, q, i, ttl, result);
    } else {
      addServiceAddress(q, i, ttl, cname, seen, result);
    }
  }
  if (result.answers.empty() && !cname.empty()) result.answers = std::move(cname);
  return result;
}

// The raw address of an in-addr.arpa or ip6.arpa name; empty if it is not a full address.
std::string ipFromArpa(const std::vector<std::string>& labels) {
  std::string raw;
  if (labels.size() == 6 && labels[4] == "in-addr") {
    for (int i = 3; i >= 0; --i) {
      const std::string& l = labels[i];
      if (l.empty() || l.size() > 3) return {};
      int v = 0;
      for (char c : l) {
        if (c < '0' || c > '9') return {};
        v = v * 10 + (c - '0');
      }
      if (v > 255) return {};
      raw += static_cast<char>(v);
    }
    return raw;
  }
  if (labels.size() != 34 || labels[32] != "ip6") return {};
  for (int i = 31; i >= 1; i -= 2) {
    int hi = labels[i].size() == 1 ? hexValue(labels[i][0]) : -1;
    int lo = labels[i - 1].size() == 1 ? hexValue(labels[i - 1][0]) : -1;
    if (hi < 0 || lo < 0) return {};
    raw += static_cast<char>(hi * 16 + lo);
  }
  return raw;
}

}  // namespace

std::string nodeFqdn(const DnsConfig& config, std::string_view node) {
  return dottedToName(node) + "node." + config.datacenter + "." + config.domain;
}

bool encodable(std::string_view name) { return splitName(name).isOk(); }

void shuffle(std::vector<DnsServiceInstance>& v, Random& random) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[random.uniform(i)]);
}

LookupResult lookupNode(const ResolveContext& ctx, const Question& q, std::string_view name) {
  LookupResult result;
  std::optional<DnsNode> node = ctx.catalog.node(name);
  if (!node) return result;
  result.exists = true;
  uint32_t ttl = ctx.config.node_ttl;
  if (q.type == kTypeA || q.type == kTypeAaaa || q.type == kTypeAny) {
    result.answers = addressRecords(q.name, node->address, q.type, ttl);
  }
  if (q.type == kTypeTxt || q.type == kTypeAny) {
    for (ResourceRecord& rr : metaTxt(q.name, *node, ttl)) result.answers.push_back(std::move(rr));
  }
  return result;
}

LookupResult lookupService(const ResolveContext& ctx, const Question& q, std::string_view service,
                           std::string_view tag) {
  std::vector<DnsServiceInstance> instances = healthyInstances(ctx, service, tag);
  shuffle(instances, ctx.random);
  return instanceRecords(ctx, q, instances, serviceTtl(ctx.config, service));
}

LookupResult lookupQuery(const ResolveContext& ctx, const Question& q, std::string_view name) {
  std::optional<DnsQueryAnswer> answer = ctx.catalog.preparedQuery(name);
  if (!answer) return {};
  std::vector<DnsServiceInstance>& instances = answer->instances;
  shuffle(instances, ctx.random);
  if (!answer->near_node.empty()) {
    auto near = std::find_if(instances.begin(), instances.end(), [&](const auto& i) {
      return equalsIgnoreCase(i.node.name, answer->near_node);
    });
    if (near != instances.end()) std::iter_swap(instances.begin(), near);
  }
  uint32_t ttl = answer->ttl.value_or(serviceTtl(ctx.config, answer->service));
  return instanceRecords(ctx, q, instances, ttl);
}

LookupResult lookupAddr(const ResolveContext& ctx, const Question& q, std::string_view hex) {
  LookupResult result;
  if (hex.size() != 8 && hex.size() != 32) return result;
  std::string raw;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hexValue(hex[i]), lo = hexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return result;
    raw += static_cast<char>(hi * 16 + lo);
  }
  result.exists = true;
  if (wantsAddress(q.type, raw)) {
    result.answers.push_back(ResourceRecord::address(q.name, ctx.config.node_ttl, raw));
  }
  return result;
}

ResourceRecord soaRecord(const ResolveContext& ctx) {
  const DnsConfig& c = ctx.config;
  SoaData soa{"ns." + c.domain, "hostmaster." + c.domain,
              ctx.soa_serial,   c.soa.refresh,
              c.soa.retry,      c.soa.expire,
              c.soa.min_ttl};
  return ResourceRecord::soa(c.domain, c.soa.min_ttl, std::move(soa));
}

std::vector<ResourceRecord> nameServers(const ResolveContext& ctx,
                                        std::vector<ResourceRecord>& glue) {
  std::vector<DnsServiceInstance> servers;
  for (DnsNode& n : ctx.catalog.servers()) servers.push_back({.node = std::move(n)});
  shuffle(servers, ctx.random);
  std::vector<ResourceRecord> ns;
  for (const DnsServiceInstance& s : servers) {
    std::string target = asciiLower(nodeFqdn(ctx.config, s.node.name));
    if (!encodable(target)) continue;
    ns.push_back(ResourceRecord::withName(ctx.config.domain, kTypeNs, ctx.config.node_ttl, target));
    std::string ip = parseIp(s.node.address);
    if (!ip.empty()) glue.push_back(ResourceRecord::address(target, ctx.config.node_ttl, ip));
    if (ns.size() == kMaxServers) break;
  }
  return ns;
}

LookupResult lookupPtr(const ResolveContext& ctx, const Question& q,
                       const std::vector<std::string>& labels) {
  LookupResult result;
  std::string raw = ipFromArpa(labels);
  if (raw.empty()) return result;
  std::string ip = formatIp(raw);
  std::vector<std::string> targets;
  for (const DnsNode& n : ctx.catalog.nodesWithAddress(ip)) {
    targets.push_back(asciiLower(nodeFqdn(ctx.config, n.name)));
  }
  if (targets.empty()) {
    for (const std::string& service : ctx.catalog.servicesWithAddress(ip)) {
      targets.push_back(asciiLower(dottedToName(service) + "service." + ctx.config.datacenter +
                                   "." + ctx.config.domain));
    }
  }
  std::set<std::string> seen;
  for (std::string& t : targets) {
    if (!encodable(t) || !seen.insert(t).second) continue;
    result.exists = true;
    if (q.type == kTypePtr || q.type == kTypeAny) {
      result.answers.push_back(
          ResourceRecord::withName(q.name, kTypePtr, ctx.config.node_ttl, std::move(t)));
    }
  }
  return result;
}

}  // namespace cairn::dns::internal
