// Fuzz target: the DNS codec and the resolver. Any input is parsed; a parsed message is encoded
// again and must parse back; the raw bytes are also answered by the resolver (UDP and TCP)
// against a small fixed catalog, and every answer must itself parse.
#include <cstdint>
#include <cstdlib>

#include "core/dns/dns_message.h"
#include "core/dns/dns_resolver.h"
#include "tests/unit/dns/fake_catalog.h"

namespace {

using cairn::dns::DnsServiceInstance;
using cairn::dns::InstanceHealth;

const cairn::dns::testing::FakeCatalog& catalog() {
  static const auto* c = [] {
    auto* cat = new cairn::dns::testing::FakeCatalog();
    cat->addNode({"node1", "10.0.0.1", {{"rack", "r1"}, {"rfc1035-x", "y"}}});
    cat->addNode({"ext", "example.com", {}});
    cat->addServer({"server1", "10.0.1.1", {}});
    for (int i = 0; i < 12; ++i) {
      DnsServiceInstance web;
      web.node = {"node" + std::to_string(i), "10.0.0." + std::to_string(i), {}};
      web.port = 80 + i;
      web.tags = {i % 2 ? "odd" : "even"};
      web.health = i % 5 == 0 ? InstanceHealth::kCritical : InstanceHealth::kPassing;
      if (i % 3 == 0) web.service_address = "2001:db8::" + std::to_string(i);
      cat->addInstance("web", web);
    }
    DnsServiceInstance hostname;
    hostname.node = {"ext", "example.com", {}};
    cat->addInstance("ext", hostname);
    return cat;
  }();
  return *c;
}

void mustParse(const std::vector<uint8_t>& wire) {
  if (!cairn::dns::parseMessage(wire).isOk()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  cairn::StatusOr<cairn::dns::Message> parsed = cairn::dns::parseMessage(input);
  if (parsed.isOk()) {
    cairn::StatusOr<std::vector<uint8_t>> wire = cairn::dns::encodeMessage(*parsed);
    if (wire.isOk()) mustParse(*wire);
  }
  static const cairn::dns::DnsConfig config = cairn::dns::normalizeConfig({}).value();
  cairn::SeededRandom random(size);
  cairn::dns::ResolveContext ctx{config, catalog(), random, 1700000000};
  for (auto transport : {cairn::dns::Transport::kUdp, cairn::dns::Transport::kTcp}) {
    std::optional<std::vector<uint8_t>> answer = cairn::dns::resolveQuery(input, transport, ctx);
    if (answer) mustParse(*answer);
  }
  return 0;
}
