// AclDnsCatalog: DNS answers filtered by the DNS token's rules (docs/security.md, "DNS").
#include "core/dns/dns_acl.h"

#include <gtest/gtest.h>

#include <set>

#include "core/acl/rules.h"
#include "core/dns/dns_name.h"
#include "core/dns/dns_resolver.h"
#include "tests/unit/dns/fake_catalog.h"

namespace cairn::dns {
namespace {

using testing::FakeCatalog;

std::shared_ptr<const acl::Authorizer> authorizerFor(std::string_view rules_text) {
  auto rules = acl::parseRules(rules_text);
  EXPECT_TRUE(rules.isOk()) << rules.status().toString();
  return acl::Authorizer::fromRules({&*rules}, acl::DefaultPolicy::kDeny);
}

DnsServiceInstance instanceOn(std::string node, std::string address) {
  DnsServiceInstance i;
  i.node = {std::move(node), std::move(address), {}};
  i.port = 80;
  return i;
}

class DnsAclTest : public ::testing::Test {
 protected:
  DnsAclTest() {
    inner_.addNode({"Web-1", "10.0.0.1", {}});
    inner_.addNode({"db-1", "10.0.0.2", {}});
    inner_.addServer({"server1", "10.0.1.1", {}});
    inner_.addInstance("web", instanceOn("Web-1", "10.0.0.1"));
    inner_.addInstance("web", instanceOn("db-1", "10.0.0.2"));
    inner_.addInstance("db", instanceOn("db-1", "10.0.0.2"));
    allow(R"(node "Web-1" { policy = "read" }
             service "web" { policy = "read" })");
  }

  void allow(std::string_view rules) { authz_ = authorizerFor(rules); }

  Message ask(const std::string& name, uint16_t type) {
    Message q;
    q.header.id = 7;
    q.questions.push_back({name, type, kClassIn});
    ResolveContext ctx{config_, filtered_, random_, 1};
    return answerQuery(q, ctx);
  }

  static std::set<std::string> addresses(const Message& m) {
    std::set<std::string> out;
    for (const ResourceRecord& rr : m.answers) {
      if (rr.type == kTypeA) out.insert(formatIp(std::get<AddressData>(rr.data).bytes));
    }
    return out;
  }

  FakeCatalog inner_;
  std::shared_ptr<const acl::Authorizer> authz_;
  AclDnsCatalog filtered_{inner_, [this] { return authz_; }};
  DnsConfig config_ = normalizeConfig({}).value();
  SeededRandom random_{1};
};

TEST_F(DnsAclTest, NodeLookupsNeedNodeRead) {
  EXPECT_EQ(ask("web-1.node.consul.", kTypeA).header.rcode, kRcodeNoError);
  EXPECT_EQ(addresses(ask("web-1.node.consul.", kTypeA)), std::set<std::string>{"10.0.0.1"});
  Message hidden = ask("db-1.node.consul.", kTypeA);
  EXPECT_EQ(hidden.header.rcode, kRcodeNxDomain);
  EXPECT_TRUE(hidden.answers.empty());
}

TEST_F(DnsAclTest, ServiceLookupsNeedServiceReadAndDropUnreadableNodes) {
  // web has an instance on db-1, whose node the token may not read.
  EXPECT_EQ(addresses(ask("web.service.consul.", kTypeA)), std::set<std::string>{"10.0.0.1"});
  Message db = ask("db.service.consul.", kTypeA);
  EXPECT_EQ(db.header.rcode, kRcodeNxDomain);
  EXPECT_TRUE(db.answers.empty());
  Message srv = ask("db.service.consul.", kTypeSrv);
  EXPECT_EQ(srv.header.rcode, kRcodeNxDomain);
}

TEST_F(DnsAclTest, PtrAndNameServersAreFiltered) {
  EXPECT_EQ(ask("1.0.0.10.in-addr.arpa.", kTypePtr).answers.size(), 1u);
  EXPECT_EQ(ask("2.0.0.10.in-addr.arpa.", kTypePtr).header.rcode, kRcodeNxDomain);
  EXPECT_TRUE(filtered_.servers().empty());
  allow(R"(node_prefix "" { policy = "read" })");
  EXPECT_EQ(filtered_.servers().size(), 1u);
}

TEST_F(DnsAclTest, APolicyChangeAppliesToTheNextQuery) {
  allow(R"(node_prefix "" { policy = "read" }
           service_prefix "" { policy = "read" })");
  EXPECT_EQ(addresses(ask("web.service.consul.", kTypeA)),
            (std::set<std::string>{"10.0.0.1", "10.0.0.2"}));
  EXPECT_EQ(addresses(ask("db.service.consul.", kTypeA)), std::set<std::string>{"10.0.0.2"});
  allow(R"(service_prefix "" { policy = "deny" })");
  EXPECT_EQ(ask("web.service.consul.", kTypeA).header.rcode, kRcodeNxDomain);
  EXPECT_EQ(ask("web-1.node.consul.", kTypeA).header.rcode, kRcodeNxDomain);
}

TEST_F(DnsAclTest, ManagementSeesEverything) {
  authz_ = acl::Authorizer::management();
  EXPECT_EQ(addresses(ask("db.service.consul.", kTypeA)), std::set<std::string>{"10.0.0.2"});
  EXPECT_EQ(ask("db-1.node.consul.", kTypeA).header.rcode, kRcodeNoError);
}

}  // namespace
}  // namespace cairn::dns
