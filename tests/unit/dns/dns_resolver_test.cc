#include "core/dns/dns_resolver.h"

#include <gtest/gtest.h>

#include <set>

#include "core/dns/dns_name.h"
#include "tests/unit/dns/fake_catalog.h"

namespace cairn::dns {
namespace {

using Bytes = std::vector<uint8_t>;
using testing::FakeCatalog;

constexpr uint32_t kSerial = 1234567;

std::string ipText(const ResourceRecord& rr) {
  return formatIp(std::get<AddressData>(rr.data).bytes);
}

DnsServiceInstance instance(std::string node, std::string address, int port,
                            InstanceHealth health = InstanceHealth::kPassing,
                            std::vector<std::string> tags = {}) {
  DnsServiceInstance i;
  i.node = {std::move(node), std::move(address), {}};
  i.port = port;
  i.health = health;
  i.tags = std::move(tags);
  return i;
}

class DnsResolverTest : public ::testing::Test {
 protected:
  DnsResolverTest() {
    catalog_.addNode(
        {"node1", "10.0.0.1", {{"rack", "r1"}, {"rfc1035-raw", "plain"}, {"k=e y", "v`"}}});
    catalog_.addNode({"node2", "10.0.0.2", {}});
    catalog_.addNode({"ext", "example.com", {}});
    catalog_.addNode({"v6node", "2001:db8::1", {}});
    catalog_.addServer({"server1", "10.0.1.1", {}});
    catalog_.addServer({"server2", "10.0.1.2", {}});
    catalog_.addInstance("web",
                         instance("node1", "10.0.0.1", 80, InstanceHealth::kPassing, {"primary"}));
    DnsServiceInstance warn =
        instance("node2", "10.0.0.2", 80, InstanceHealth::kWarning, {"Secondary"});
    warn.weight_passing = 10;
    warn.weight_warning = 3;
    catalog_.addInstance("web", warn);
    catalog_.addInstance("web", instance("node3", "10.0.0.3", 80, InstanceHealth::kCritical));
    DnsServiceInstance api = instance("node1", "10.0.0.1", 9000);
    api.service_address = "192.168.1.5";
    catalog_.addInstance("api", api);
    catalog_.addInstance("ext-svc", instance("ext", "example.com", 443));
    catalog_.addInstance("dup", instance("node1", "10.0.0.1", 80));
    catalog_.addInstance("dup", instance("node1", "10.0.0.1", 80));
    catalog_.addInstance("dup", instance("node1", "10.0.0.1", 81));
    catalog_.addInstance("dead", instance("node2", "10.0.0.2", 1, InstanceHealth::kCritical));
    for (int i = 0; i < 20; ++i) {
      catalog_.addInstance("big",
                           instance("b" + std::to_string(i), "10.1.0." + std::to_string(i), 1));
    }
    for (int i = 0; i < 200; ++i) {
      catalog_.addInstance(
          "bigsrv",
          instance("a-rather-long-node-name-" + std::to_string(i),
                   "10.2." + std::to_string(i / 100) + "." + std::to_string(i % 100), 8000 + i));
    }
  }

  Message query(const std::string& name, uint16_t type, std::optional<uint16_t> edns_size) {
    Message q;
    q.header.id = 4242;
    q.header.rd = true;
    q.questions.push_back({name, type, kClassIn});
    if (edns_size) q.edns = Edns{.udp_size = *edns_size};
    return q;
  }

  std::optional<Message> send(const Bytes& wire, Transport transport = Transport::kUdp) {
    DnsConfig config = normalizeConfig(config_).value();
    ResolveContext ctx{config, catalog_, random_, kSerial};
    std::optional<Bytes> out = resolveQuery(wire, transport, ctx);
    if (!out) return std::nullopt;
    last_size_ = out->size();
    StatusOr<Message> m = parseMessage(*out);
    EXPECT_TRUE(m.isOk()) << m.status().toString();
    return m.isOk() ? std::optional<Message>(*m) : std::nullopt;
  }

  Message ask(const std::string& name, uint16_t type, Transport transport = Transport::kUdp,
              std::optional<uint16_t> edns_size = std::nullopt) {
    StatusOr<Bytes> wire = encodeMessage(query(name, type, edns_size));
    EXPECT_TRUE(wire.isOk());
    std::optional<Message> m = send(*wire, transport);
    EXPECT_TRUE(m.has_value());
    if (!m) return {};
    EXPECT_EQ(m->header.id, 4242);
    EXPECT_TRUE(m->header.qr);
    EXPECT_TRUE(m->header.rd);
    EXPECT_FALSE(m->header.ra);
    return *m;
  }

  static void expectNegative(const Message& m, uint16_t rcode) {
    EXPECT_EQ(m.header.rcode, rcode);
    EXPECT_TRUE(m.header.aa);
    EXPECT_TRUE(m.answers.empty());
    ASSERT_EQ(m.authority.size(), 1u);
    EXPECT_EQ(m.authority[0].type, kTypeSoa);
  }

  static std::set<std::string> addresses(const Message& m) {
    std::set<std::string> out;
    for (const ResourceRecord& rr : m.answers) {
      if (rr.type == kTypeA || rr.type == kTypeAaaa) out.insert(ipText(rr));
    }
    return out;
  }

  FakeCatalog catalog_;
  DnsConfig config_;
  SeededRandom random_{1};
  size_t last_size_ = 0;
};

TEST_F(DnsResolverTest, NodeAddress) {
  Message m = ask("node1.node.consul.", kTypeA);
  EXPECT_EQ(m.header.rcode, kRcodeNoError);
  EXPECT_TRUE(m.header.aa);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(ipText(m.answers[0]), "10.0.0.1");
  EXPECT_EQ(m.answers[0].name, "node1.node.consul.");
  EXPECT_EQ(m.answers[0].ttl, 0u);
  EXPECT_TRUE(m.authority.empty());
}

TEST_F(DnsResolverTest, NodeNamesAreCaseInsensitiveAndKeepTheAskedSpelling) {
  Message m = ask("NODE1.Node.DC1.Consul.", kTypeA);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].name, "NODE1.Node.DC1.Consul.");
  EXPECT_EQ(m.questions[0].name, "NODE1.Node.DC1.Consul.");
}

TEST_F(DnsResolverTest, NodeDatacenterForms) {
  EXPECT_EQ(ask("node1.node.dc1.consul.", kTypeA).answers.size(), 1u);
  EXPECT_EQ(ask("node1.node.dc1.dc.consul.", kTypeA).answers.size(), 1u);
  expectNegative(ask("node1.node.dc2.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("node1.node.a.b.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, NodeTxtFromMeta) {
  Message txt = ask("node1.node.consul.", kTypeTxt);
  std::set<std::string> strings;
  for (const ResourceRecord& rr : txt.answers) {
    ASSERT_EQ(rr.type, kTypeTxt);
    strings.insert(std::get<TxtData>(rr.data).strings.at(0));
  }
  EXPECT_EQ(strings, (std::set<std::string>{"rack=r1", "plain", "k`=e y=v``"}));
  config_.udp_answer_limit = 8;
  Message any = ask("node1.node.consul.", kTypeAny);
  EXPECT_EQ(any.answers.size(), 4u);
  EXPECT_EQ(any.answers[0].type, kTypeA);
}

TEST_F(DnsResolverTest, NodeWithHostnameGetsCname) {
  Message m = ask("ext.node.consul.", kTypeA);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(m.answers[0].type, kTypeCname);
  EXPECT_EQ(std::get<NameData>(m.answers[0].data).name, "example.com.");
}

TEST_F(DnsResolverTest, NodeFamiliesAndNoData) {
  expectNegative(ask("node1.node.consul.", kTypeAaaa), kRcodeNoError);
  expectNegative(ask("node1.node.consul.", kTypeMx), kRcodeNoError);
  Message v6 = ask("v6node.node.consul.", kTypeAaaa);
  ASSERT_EQ(v6.answers.size(), 1u);
  EXPECT_EQ(ipText(v6.answers[0]), "2001:db8::1");
  expectNegative(ask("v6node.node.consul.", kTypeA), kRcodeNoError);
}

TEST_F(DnsResolverTest, UnknownNameIsNxDomainWithSoa) {
  Message m = ask("nobody.node.consul.", kTypeA);
  expectNegative(m, kRcodeNxDomain);
  const ResourceRecord& soa = m.authority[0];
  EXPECT_EQ(soa.name, "consul.");
  EXPECT_EQ(soa.ttl, 0u);
  const auto& data = std::get<SoaData>(soa.data);
  EXPECT_EQ(data.mname, "ns.consul.");
  EXPECT_EQ(data.rname, "hostmaster.consul.");
  EXPECT_EQ(data.serial, kSerial);
  EXPECT_EQ(data.refresh, 3600u);
  EXPECT_EQ(data.retry, 600u);
  EXPECT_EQ(data.expire, 86400u);
  EXPECT_EQ(data.minimum, 0u);
  expectNegative(ask("whatever.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("node.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, ServiceAddressesSkipCriticalInstances) {
  Message m = ask("web.service.consul.", kTypeA);
  EXPECT_EQ(m.header.rcode, kRcodeNoError);
  EXPECT_EQ(addresses(m), (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  config_.only_passing = true;
  EXPECT_EQ(addresses(ask("web.service.consul.", kTypeA)), (std::set<std::string>{"10.0.0.1"}));
}

TEST_F(DnsResolverTest, ServiceTagFilterIsCaseInsensitive) {
  EXPECT_EQ(addresses(ask("primary.web.service.consul.", kTypeA)),
            (std::set<std::string>{"10.0.0.1"}));
  EXPECT_EQ(addresses(ask("SECONDARY.web.service.dc1.consul.", kTypeA)),
            (std::set<std::string>{"10.0.0.2"}));
  expectNegative(ask("nosuchtag.web.service.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, ServiceSrvWithNodeTargetsAndWeights) {
  Message m = ask("web.service.consul.", kTypeSrv);
  ASSERT_EQ(m.answers.size(), 2u);
  std::map<std::string, SrvData> by_target;
  for (const ResourceRecord& rr : m.answers) {
    const auto& srv = std::get<SrvData>(rr.data);
    by_target[srv.target] = srv;
  }
  ASSERT_EQ(by_target.count("node1.node.dc1.consul."), 1u);
  EXPECT_EQ(by_target["node1.node.dc1.consul."].weight, 1);
  EXPECT_EQ(by_target["node2.node.dc1.consul."].weight, 3);  // warning weight
  EXPECT_EQ(by_target["node2.node.dc1.consul."].priority, 1);
  EXPECT_EQ(by_target["node2.node.dc1.consul."].port, 80);
  ASSERT_EQ(m.additional.size(), 2u);
  for (const ResourceRecord& rr : m.additional) {
    EXPECT_EQ(rr.type, kTypeA);
    EXPECT_EQ(by_target.count(rr.name), 1u);
  }
}

TEST_F(DnsResolverTest, SrvForServiceAddressUsesHexAddrTarget) {
  Message m = ask("api.service.consul.", kTypeSrv);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(std::get<SrvData>(m.answers[0].data).target, "c0a80105.addr.dc1.consul.");
  EXPECT_EQ(std::get<SrvData>(m.answers[0].data).port, 9000);
  ASSERT_EQ(m.additional.size(), 1u);
  EXPECT_EQ(m.additional[0].name, "c0a80105.addr.dc1.consul.");
  EXPECT_EQ(ipText(m.additional[0]), "192.168.1.5");
  EXPECT_EQ(addresses(ask("api.service.consul.", kTypeA)), (std::set<std::string>{"192.168.1.5"}));
}

TEST_F(DnsResolverTest, Rfc2782Forms) {
  EXPECT_EQ(ask("_web._tcp.service.consul.", kTypeSrv).answers.size(), 2u);
  EXPECT_EQ(ask("_web._primary.service.consul.", kTypeSrv).answers.size(), 1u);
  EXPECT_EQ(ask("_web._tcp.consul.", kTypeSrv).answers.size(), 2u);
  EXPECT_EQ(ask("_web._tcp.dc1.consul.", kTypeSrv).answers.size(), 2u);
  EXPECT_EQ(ask("_web._tcp.service.dc1.consul.", kTypeSrv).answers.size(), 2u);
  expectNegative(ask("_web._tcp.consul.", kTypeA), kRcodeNxDomain);  // needs "service" for A
}

TEST_F(DnsResolverTest, DuplicateInstancesCollapse) {
  EXPECT_EQ(ask("dup.service.consul.", kTypeSrv).answers.size(), 2u);  // ports 80 and 81
  Message a = ask("dup.service.consul.", kTypeA);
  EXPECT_EQ(a.answers.size(), 1u);
  Message srv = ask("dup.service.consul.", kTypeSrv);
  EXPECT_EQ(srv.additional.size(), 1u);  // one A for the shared target
}

TEST_F(DnsResolverTest, HostnameServiceGetsCnameAndSrvTarget) {
  Message a = ask("ext-svc.service.consul.", kTypeA);
  ASSERT_EQ(a.answers.size(), 1u);
  EXPECT_EQ(a.answers[0].type, kTypeCname);
  EXPECT_EQ(std::get<NameData>(a.answers[0].data).name, "example.com.");
  Message srv = ask("ext-svc.service.consul.", kTypeSrv);
  ASSERT_EQ(srv.answers.size(), 1u);
  EXPECT_EQ(std::get<SrvData>(srv.answers[0].data).target, "example.com.");
  EXPECT_TRUE(srv.additional.empty());
}

TEST_F(DnsResolverTest, ServiceNegativeAnswers) {
  expectNegative(ask("dead.service.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("nosuch.service.consul.", kTypeSrv), kRcodeNxDomain);
  expectNegative(ask("web.service.consul.", kTypeAaaa), kRcodeNoError);
  expectNegative(ask("web.service.consul.", kTypeTxt), kRcodeNoError);
  expectNegative(ask("web.service.dc9.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, AddrForm) {
  Message v4 = ask("7f000001.addr.consul.", kTypeA);
  ASSERT_EQ(v4.answers.size(), 1u);
  EXPECT_EQ(ipText(v4.answers[0]), "127.0.0.1");
  EXPECT_EQ(ask("7F000001.addr.dc1.consul.", kTypeA).answers.size(), 1u);
  Message v6 = ask("20010db8000000000000000000000001.addr.consul.", kTypeAaaa);
  ASSERT_EQ(v6.answers.size(), 1u);
  EXPECT_EQ(ipText(v6.answers[0]), "2001:db8::1");
  expectNegative(ask("7f000001.addr.consul.", kTypeAaaa), kRcodeNoError);
  expectNegative(ask("7f00001.addr.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("zz000001.addr.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("a.7f000001.addr.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, ReverseLookups) {
  Message node = ask("1.0.0.10.in-addr.arpa.", kTypePtr);
  EXPECT_TRUE(node.header.aa);
  ASSERT_EQ(node.answers.size(), 1u);
  EXPECT_EQ(std::get<NameData>(node.answers[0].data).name, "node1.node.dc1.consul.");
  Message service = ask("5.1.168.192.in-addr.arpa.", kTypePtr);
  ASSERT_EQ(service.answers.size(), 1u);
  EXPECT_EQ(std::get<NameData>(service.answers[0].data).name, "api.service.dc1.consul.");
  std::string v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.";
  Message six = ask(v6, kTypePtr);
  ASSERT_EQ(six.answers.size(), 1u);
  EXPECT_EQ(std::get<NameData>(six.answers[0].data).name, "v6node.node.dc1.consul.");
  expectNegative(ask("9.9.9.9.in-addr.arpa.", kTypePtr), kRcodeNxDomain);
  expectNegative(ask("0.10.in-addr.arpa.", kTypePtr), kRcodeNxDomain);
  expectNegative(ask("1.0.0.10.in-addr.arpa.", kTypeA), kRcodeNoError);
}

TEST_F(DnsResolverTest, ApexSoaAndNs) {
  Message soa = ask("consul.", kTypeSoa);
  ASSERT_EQ(soa.answers.size(), 1u);
  EXPECT_EQ(soa.answers[0].type, kTypeSoa);
  EXPECT_EQ(std::get<SoaData>(soa.answers[0].data).serial, kSerial);
  ASSERT_EQ(soa.authority.size(), 2u);
  EXPECT_EQ(soa.authority[0].type, kTypeNs);
  EXPECT_EQ(soa.additional.size(), 2u);
  Message ns = ask("CONSUL.", kTypeNs);
  ASSERT_EQ(ns.answers.size(), 2u);
  std::set<std::string> targets;
  for (const ResourceRecord& rr : ns.answers) targets.insert(std::get<NameData>(rr.data).name);
  EXPECT_EQ(targets,
            (std::set<std::string>{"server1.node.dc1.consul.", "server2.node.dc1.consul."}));
  ASSERT_EQ(ns.additional.size(), 2u);
  EXPECT_EQ(targets.count(ns.additional[0].name), 1u);
  expectNegative(ask("consul.", kTypeA), kRcodeNoError);
}

TEST_F(DnsResolverTest, AtMostThreeNameServers) {
  for (int i = 3; i <= 6; ++i) catalog_.addServer({"server" + std::to_string(i), "10.0.1.9", {}});
  config_.udp_answer_limit = 8;
  EXPECT_EQ(ask("consul.", kTypeNs).answers.size(), 3u);
}

TEST_F(DnsResolverTest, ZoneTransfersAreNotImplemented) {
  EXPECT_EQ(ask("consul.", kTypeAxfr).header.rcode, kRcodeNotImp);
  EXPECT_EQ(ask("consul.", kTypeIxfr, Transport::kTcp).header.rcode, kRcodeNotImp);
}

TEST_F(DnsResolverTest, OutOfDomainIsRefused) {
  Message m = ask("example.com.", kTypeA);
  EXPECT_EQ(m.header.rcode, kRcodeRefused);
  EXPECT_FALSE(m.header.aa);
  EXPECT_TRUE(m.answers.empty());
  EXPECT_EQ(ask("consul.example.", kTypeA).header.rcode, kRcodeRefused);
  EXPECT_EQ(ask(".", kTypeNs).header.rcode, kRcodeRefused);
}

TEST_F(DnsResolverTest, UnknownPreparedQueriesAndMeshNamesDoNotExist) {
  expectNegative(ask("web.query.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("_web._tcp.query.consul.", kTypeSrv), kRcodeNxDomain);
  expectNegative(ask("web.connect.consul.", kTypeA), kRcodeNxDomain);
  expectNegative(ask("web.ingress.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, PreparedQueryAnswersItsInstancesWithItsTtl) {
  DnsQueryAnswer answer;
  answer.service = "web";
  answer.ttl = 7;
  answer.instances = {instance("node1", "10.0.0.1", 80), instance("node2", "10.0.0.2", 81)};
  catalog_.addQuery("my-web", answer);
  Message a = ask("my-web.query.consul.", kTypeA);
  EXPECT_EQ(a.header.rcode, kRcodeNoError);
  EXPECT_EQ(addresses(a), (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  for (const ResourceRecord& rr : a.answers) EXPECT_EQ(rr.ttl, 7u);
  EXPECT_EQ(addresses(ask("MY-WEB.query.dc1.consul.", kTypeA)).size(), 2u);
  Message srv = ask("my-web.query.consul.", kTypeSrv);
  ASSERT_EQ(srv.answers.size(), 2u);
  std::set<uint16_t> ports;
  for (const ResourceRecord& rr : srv.answers) {
    EXPECT_EQ(rr.ttl, 7u);
    ports.insert(std::get<SrvData>(rr.data).port);
  }
  EXPECT_EQ(ports, (std::set<uint16_t>{80, 81}));
  EXPECT_EQ(srv.additional.size(), 2u);  // the targets' addresses
  expectNegative(ask("my-web.query.dc2.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, PreparedQueryDefaultsToTheServiceTtlAndNearNodeComesFirst) {
  config_.service_ttl = 30;
  DnsQueryAnswer answer;
  answer.service = "web";
  for (int i = 0; i < 6; ++i) {
    answer.instances.push_back(instance("n" + std::to_string(i), "10.9.0." + std::to_string(i), 1));
  }
  answer.near_node = "N4";
  catalog_.addQuery("near.dotted", answer);
  for (int round = 0; round < 5; ++round) {
    Message m = ask("near.dotted.query.consul.", kTypeA);  // dots join into one query name
    ASSERT_FALSE(m.answers.empty());
    EXPECT_EQ(ipText(m.answers[0]), "10.9.0.4");
    EXPECT_EQ(m.answers[0].ttl, 30u);
  }
  catalog_.addQuery("empty", DnsQueryAnswer{"web", std::nullopt, {}, ""});
  expectNegative(ask("empty.query.consul.", kTypeA), kRcodeNxDomain);
}

TEST_F(DnsResolverTest, CustomDomainAndDatacenter) {
  config_.domain = "Cairn.Example";
  config_.datacenter = "East";
  EXPECT_EQ(ask("node1.node.east.cairn.example.", kTypeA).answers.size(), 1u);
  EXPECT_EQ(ask("node1.node.consul.", kTypeA).header.rcode, kRcodeRefused);
  Message srv = ask("api.service.cairn.example.", kTypeSrv);
  EXPECT_EQ(std::get<SrvData>(srv.answers.at(0).data).target, "c0a80105.addr.east.cairn.example.");
}

TEST_F(DnsResolverTest, UdpAnswerLimitWithoutEdns) {
  Message m = ask("big.service.consul.", kTypeA);
  EXPECT_EQ(m.answers.size(), 3u);
  EXPECT_FALSE(m.header.tc);
  config_.udp_answer_limit = 8;
  EXPECT_EQ(ask("big.service.consul.", kTypeA).answers.size(), 8u);
  config_.udp_answer_limit = 100;  // capped at 8
  EXPECT_EQ(ask("big.service.consul.", kTypeA).answers.size(), 8u);
  config_.enable_truncate = true;
  EXPECT_TRUE(ask("big.service.consul.", kTypeA).header.tc);
  EXPECT_EQ(ask("big.service.consul.", kTypeA, Transport::kTcp).answers.size(), 20u);
  EXPECT_FALSE(ask("big.service.consul.", kTypeA, Transport::kTcp).header.tc);
}

TEST_F(DnsResolverTest, BadConfigIsRejected) {
  EXPECT_FALSE(normalizeConfig({.udp_answer_limit = 0}).isOk());
  EXPECT_FALSE(normalizeConfig({.domain = "a..b"}).isOk());
  EXPECT_FALSE(normalizeConfig({.datacenter = "a.b"}).isOk());
  EXPECT_EQ(normalizeConfig({.domain = "Consul"})->domain, "consul.");
}

TEST_F(DnsResolverTest, EdnsRaisesTheLimitAndIsEchoed) {
  Message q = query("big.service.consul.", kTypeA, 4096);
  q.edns->options.push_back({kEdnsOptionClientSubnet, std::string("\0\1\x18\0\x0a\x01\x02", 7)});
  q.edns->options.push_back({10, "cookie12"});
  std::optional<Message> m = send(encodeMessage(q).value());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->answers.size(), 20u);
  ASSERT_TRUE(m->edns.has_value());
  EXPECT_EQ(m->edns->udp_size, 4096);
  ASSERT_EQ(m->edns->options.size(), 1u);  // client subnet only, scope 0
  EXPECT_EQ(m->edns->options[0].data, std::string("\0\1\x18\0\x0a\x01\x02", 7));
  EXPECT_FALSE(ask("big.service.consul.", kTypeA).edns.has_value());
}

TEST_F(DnsResolverTest, EdnsVersionAboveZeroIsBadVers) {
  Message q = query("web.service.consul.", kTypeA, 1232);
  q.edns->version = 1;
  std::optional<Message> m = send(encodeMessage(q).value());
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->header.rcode, kRcodeBadVers);
  ASSERT_TRUE(m->edns.has_value());
  EXPECT_EQ(m->edns->version, 0);
}

void expectAdditionalMatchesAnswers(const Message& m) {
  std::set<std::string> targets;
  for (const ResourceRecord& rr : m.answers) targets.insert(std::get<SrvData>(rr.data).target);
  std::set<std::string> glue;
  for (const ResourceRecord& rr : m.additional) glue.insert(rr.name);
  EXPECT_EQ(targets, glue);
  EXPECT_EQ(m.additional.size(), m.answers.size());
}

TEST_F(DnsResolverTest, UdpResponsesFitIn512BytesWithMatchingAdditional) {
  config_.udp_answer_limit = 8;
  Message m = ask("bigsrv.service.consul.", kTypeSrv);
  EXPECT_LE(last_size_, 512u);
  EXPECT_GE(m.answers.size(), 1u);
  EXPECT_LE(m.answers.size(), 8u);
  expectAdditionalMatchesAnswers(m);
}

TEST_F(DnsResolverTest, EdnsSizeBoundsUdpResponses) {
  Message m = ask("bigsrv.service.consul.", kTypeSrv, Transport::kUdp, 1232);
  EXPECT_LE(last_size_, 1232u);
  EXPECT_GT(m.answers.size(), 8u);
  EXPECT_LT(m.answers.size(), 200u);
  expectAdditionalMatchesAnswers(m);
  config_.enable_truncate = true;
  EXPECT_TRUE(ask("bigsrv.service.consul.", kTypeSrv, Transport::kUdp, 1232).header.tc);
}

TEST_F(DnsResolverTest, TcpCarriesLargeAnswers) {
  Message m = ask("bigsrv.service.consul.", kTypeSrv, Transport::kTcp);
  EXPECT_EQ(m.answers.size(), 200u);
  expectAdditionalMatchesAnswers(m);
  EXPECT_GT(last_size_, 4096u);
}

TEST_F(DnsResolverTest, TcpAnswersStayWithin64KiB) {
  for (int i = 0; i < 5000; ++i) {
    catalog_.addInstance(
        "huge", instance("h" + std::to_string(i),
                         "10.3." + std::to_string(i / 250) + "." + std::to_string(i % 250), 1));
  }
  Message m = ask("huge.service.consul.", kTypeA, Transport::kTcp);
  EXPECT_EQ(m.header.rcode, kRcodeNoError);
  EXPECT_LE(last_size_, kMaxMessageSize);
  EXPECT_GT(m.answers.size(), 3000u);
  EXPECT_LE(m.answers.size(), 4096u);
  Message udp = ask("huge.service.consul.", kTypeA, Transport::kUdp, 65000);
  EXPECT_LE(last_size_, kMaxUdpSize);
  EXPECT_GT(udp.answers.size(), 3000u);
}

TEST_F(DnsResolverTest, OversizedSingleAnswerIsDroppedWithTc) {
  catalog_.addNode({"fat", "10.0.0.9", {{"k", std::string(700, 'v')}}});
  Message m = ask("fat.node.consul.", kTypeTxt);
  EXPECT_TRUE(m.header.tc);
  EXPECT_TRUE(m.answers.empty());
  EXPECT_LE(last_size_, 512u);
  EXPECT_EQ(ask("fat.node.consul.", kTypeTxt, Transport::kTcp).answers.size(), 1u);
}

TEST_F(DnsResolverTest, AnswersAreShuffled) {
  config_.udp_answer_limit = 8;
  std::set<std::string> firsts;
  for (int i = 0; i < 30; ++i) {
    Message m = ask("big.service.consul.", kTypeA);
    firsts.insert(ipText(m.answers.at(0)));
  }
  EXPECT_GT(firsts.size(), 5u);
}

TEST_F(DnsResolverTest, TtlsComeFromConfig) {
  config_.node_ttl = 11;
  config_.service_ttl = 30;
  config_.service_ttl_by_name = {{"web", 5}, {"a*", 6}, {"ap*", 7}};
  EXPECT_EQ(ask("node1.node.consul.", kTypeA).answers.at(0).ttl, 11u);
  EXPECT_EQ(ask("web.service.consul.", kTypeA).answers.at(0).ttl, 5u);
  EXPECT_EQ(ask("api.service.consul.", kTypeA).answers.at(0).ttl, 7u);
  Message srv = ask("api.service.consul.", kTypeSrv);
  EXPECT_EQ(srv.answers.at(0).ttl, 7u);
  EXPECT_EQ(srv.additional.at(0).ttl, 7u);
  EXPECT_EQ(ask("big.service.consul.", kTypeA).answers.at(0).ttl, 30u);
}

TEST_F(DnsResolverTest, MalformedQueries) {
  EXPECT_FALSE(send(Bytes(11, 0)).has_value());  // no header: dropped
  Bytes response(12, 0);
  response[2] = 0x80;  // QR set
  EXPECT_FALSE(send(response).has_value());
  Bytes garbage = {0xAB, 0xCD, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1};
  std::optional<Message> formerr = send(garbage);
  ASSERT_TRUE(formerr.has_value());
  EXPECT_EQ(formerr->header.rcode, kRcodeFormErr);
  EXPECT_EQ(formerr->header.id, 0xABCD);
  EXPECT_TRUE(formerr->header.qr);
  std::optional<Message> empty = send(Bytes{0, 7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->header.rcode, kRcodeFormErr);
  Message many = query("web.service.consul.", kTypeA, std::nullopt);
  for (int i = 0; i < 2000; ++i) many.questions.push_back(many.questions[0]);
  std::optional<Message> many_reply = send(encodeMessage(many).value());
  ASSERT_TRUE(many_reply.has_value());
  EXPECT_EQ(many_reply->header.rcode, kRcodeFormErr);
  EXPECT_TRUE(many_reply->questions.empty());  // not echoed: no amplification
  EXPECT_LE(last_size_, 512u);
  Message status = query("web.service.consul.", kTypeA, std::nullopt);
  status.header.opcode = 2;
  EXPECT_EQ(send(encodeMessage(status).value())->header.rcode, kRcodeNotImp);
}

TEST_F(DnsResolverTest, UnencodableCatalogNamesAreSkipped) {
  catalog_.addInstance("odd", instance(std::string(70, 'n'), "10.9.9.9", 1));
  catalog_.addInstance("odd", instance("fine", "10.9.9.8", 1));
  Message m = ask("odd.service.consul.", kTypeSrv);
  ASSERT_EQ(m.answers.size(), 1u);
  EXPECT_EQ(std::get<SrvData>(m.answers[0].data).target, "fine.node.dc1.consul.");
}

}  // namespace
}  // namespace cairn::dns
