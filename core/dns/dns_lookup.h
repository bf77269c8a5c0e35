#pragma once
// Internal to the resolver: record building for each name form (dns_records.cc).

#include <string>
#include <string_view>
#include <vector>

#include "core/dns/dns_message.h"
#include "core/dns/dns_resolver.h"

namespace cairn::dns::internal {

// exists == false: NXDOMAIN. exists with no answers: NODATA.
struct LookupResult {
  bool exists = false;
  std::vector<ResourceRecord> answers;
  std::vector<ResourceRecord> authority;
  std::vector<ResourceRecord> additional;
};

// `<node>.node.<dc>.<domain>` for a catalog node name.
std::string nodeFqdn(const DnsConfig& config, std::string_view node);
bool encodable(std::string_view name);
void shuffle(std::vector<DnsServiceInstance>& v, Random& random);

LookupResult lookupNode(const ResolveContext& ctx, const Question& q, std::string_view node);
LookupResult lookupService(const ResolveContext& ctx, const Question& q, std::string_view service,
                           std::string_view tag);
// `<name>.query.<domain>`: A/AAAA (or SRV) for the instances of a prepared query, shuffled with
// the query's near node first, with the query's DNS TTL when it sets one.
LookupResult lookupQuery(const ResolveContext& ctx, const Question& q, std::string_view name);
LookupResult lookupAddr(const ResolveContext& ctx, const Question& q, std::string_view hex);
// `labels`: the lower-case labels of a name under "arpa".
LookupResult lookupPtr(const ResolveContext& ctx, const Question& q,
                       const std::vector<std::string>& labels);

ResourceRecord soaRecord(const ResolveContext& ctx);
// NS records for up to three servers, with their address records in `glue`.
std::vector<ResourceRecord> nameServers(const ResolveContext& ctx,
                                        std::vector<ResourceRecord>& glue);

}  // namespace cairn::dns::internal
