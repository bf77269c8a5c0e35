// The security switches' decisions (operator/security.h): spec parsing, the servers' extra
// configuration, the TLS Secret's life cycle, the ACL bootstrap step and sidecar policies.
#include "operator/security.h"

#include <gtest/gtest.h>

#include "core/acl/rules.h"
#include "operator/desired_objects.h"
#include "operator/webhook_certs.h"

namespace cairn::op {
namespace {

using web::json::value;
using Clock = std::chrono::system_clock;

TEST(SecuritySpecTest, SwitchesAreOffUnlessSet) {
  auto none = parseSecuritySpec(value::parse(R"({"servers": 3})"));
  ASSERT_TRUE(none.isOk());
  EXPECT_FALSE(none->tls);
  EXPECT_FALSE(none->manage_acls);
  EXPECT_TRUE(securityConfig(*none).is_null());
  auto both = parseSecuritySpec(value::parse(
      R"({"security": {"tls": {"enabled": true}, "acls": {"manageSystemACLs": true}}})"));
  ASSERT_TRUE(both.isOk());
  EXPECT_TRUE(both->tls);
  EXPECT_TRUE(both->manage_acls);
  struct Bad {
    const char* spec;
    const char* error;
  };
  for (const Bad& b :
       {Bad{R"({"security": []})", "spec.security: must be an object"},
        Bad{R"({"security": {"tls": true}})", "spec.security.tls: must be an object"},
        Bad{R"({"security": {"acls": {"manageSystemACLs": "yes"}}})",
            "spec.security.acls.manageSystemACLs: must be true or false"}}) {
    auto r = parseSecuritySpec(value::parse(b.spec));
    ASSERT_FALSE(r.isOk()) << b.spec;
    EXPECT_EQ(r.status().message(), b.error);
  }
}

TEST(SecuritySpecTest, ServerConfigurationTurnsOnWhatIsAskedFor) {
  value tls = securityConfig({.tls = true});
  EXPECT_EQ(tls.at("tls").at("defaults").at("cert_file").as_string(), "/etc/cairn-tls/server.pem");
  EXPECT_TRUE(tls.at("tls").at("defaults").at("verify_incoming").as_bool());
  EXPECT_TRUE(tls.at("tls").at("internal_rpc").at("verify_server_hostname").as_bool());
  EXPECT_EQ(tls.at("ports").at("https").as_integer(), 8501);
  EXPECT_FALSE(tls.has_field("acl"));
  value acl = securityConfig({.manage_acls = true});
  EXPECT_TRUE(acl.at("acl").at("enabled").as_bool());
  EXPECT_EQ(acl.at("acl").at("default_policy").as_string(), "deny");
  EXPECT_FALSE(acl.has_field("tls"));
}

DesiredObjects objectsFor(const char* name) {
  ObservedCluster c;
  c.name = name;
  c.name_space = "apps";
  c.uid = "uid-1";
  return desiredObjects(c, 3, 3);
}

TEST(SecuritySpecTest, ObjectsCarryTheSwitches) {
  DesiredObjects plain = objectsFor("cairn");
  DesiredObjects d = objectsFor("cairn");
  applySecurity({}, "cairn", d.config_map, d.stateful_set);
  EXPECT_EQ(d.config_map.serialize(), plain.config_map.serialize());  // off: untouched
  EXPECT_EQ(d.stateful_set.serialize(), plain.stateful_set.serialize());

  applySecurity({.tls = true, .manage_acls = true}, "cairn", d.config_map, d.stateful_set);
  value config = value::parse(d.config_map.at("data").at("server.json").as_string());
  EXPECT_TRUE(config.at("acl").at("enabled").as_bool());
  EXPECT_EQ(config.at("tls").at("defaults").at("ca_file").as_string(), "/etc/cairn-tls/ca.pem");
  EXPECT_EQ(config.at("ports").at("https").as_integer(), 8501);
  EXPECT_FALSE(config.at("leave_on_terminate").as_bool());  // the operator's own keys stay
  const value& pod = d.stateful_set.at("spec").at("template");
  EXPECT_EQ(pod.at("metadata").at("annotations").at("cairn.io/security").as_string(), "tls,acls");
  const value& volumes = pod.at("spec").at("volumes");
  EXPECT_EQ(volumes.at(volumes.size() - 1).at("secret").at("secretName").as_string(), "cairn-tls");
  const value& container = pod.at("spec").at("containers").at(0);
  const value& mounts = container.at("volumeMounts");
  EXPECT_EQ(mounts.at(mounts.size() - 1).at("mountPath").as_string(), "/etc/cairn-tls");
  const value& ports = container.at("ports");
  EXPECT_EQ(ports.at(ports.size() - 1).at("containerPort").as_integer(), 8501);
}

TEST(SecurityTlsTest, CreateThenKeepThenRenewFromTheSameCa) {
  auto now = Clock::now();
  EXPECT_EQ(tlsAction(std::nullopt, now), TlsAction::kCreate);
  EXPECT_EQ(tlsAction(SecretData{{"ca.pem", "garbage"}}, now), TlsAction::kCreate);
  auto made = makeTlsSecretData(TlsAction::kCreate, {}, "cairn", "apps");
  ASSERT_TRUE(made.isOk()) << made.status().message();
  EXPECT_EQ(tlsAction(*made, now), TlsAction::kNone);
  // The server certificate serves the cluster's Services and pods, and chains to the CA.
  EXPECT_TRUE(verifyServing(made->at("server.pem"), made->at("ca.pem"), "cairn-peers.apps.svc", now)
                  .isOk());
  EXPECT_TRUE(
      verifyServing(made->at("server.pem"), made->at("ca.pem"), "server.dc1.consul", now).isOk());
  // Close to its expiry (one year), the server certificate is renewed and the CA kept.
  auto later = now + std::chrono::hours(24 * 340);
  EXPECT_EQ(tlsAction(*made, later), TlsAction::kRenewServerCert);
  auto renewed = makeTlsSecretData(TlsAction::kRenewServerCert, *made, "cairn", "apps");
  ASSERT_TRUE(renewed.isOk());
  EXPECT_EQ(renewed->at("ca.pem"), made->at("ca.pem"));
  EXPECT_NE(renewed->at("server.pem"), made->at("server.pem"));
  SecretData no_server = *made;
  no_server.erase("server-key.pem");
  EXPECT_EQ(tlsAction(no_server, now), TlsAction::kRenewServerCert);
  EXPECT_FALSE(makeTlsSecretData(TlsAction::kRenewServerCert, {}, "cairn", "apps").isOk());
}

TEST(SecurityAclTest, BootstrapOnceTheClusterHasALeader) {
  SecuritySpec on{.manage_acls = true};
  EXPECT_EQ(aclStep({}, true, false), AclStep::kNone);
  EXPECT_EQ(aclStep(on, false, false), AclStep::kWaitForLeader);
  EXPECT_EQ(aclStep(on, true, false), AclStep::kBootstrap);
  EXPECT_EQ(aclStep(on, true, true), AclStep::kNone);  // done before (or by a previous leader)
  EXPECT_EQ(managementTokenSecretName("cairn"), "cairn-acl-management");
}

TEST(SecurityAclTest, SidecarPoliciesCoverOnlyTheirService) {
  ServicePolicy p = sidecarPolicy("web", {"db", "web", "cache"});
  EXPECT_EQ(p.name, "sidecar-web");
  EXPECT_EQ(p.rules,
            "service \"web\" { policy = \"write\" }\n"
            "service \"db\" { policy = \"read\" }\n"
            "service \"cache\" { policy = \"read\" }\n");
  EXPECT_TRUE(acl::parseRules(p.rules).isOk());
  // A hostile name stays one quoted string.
  ServicePolicy odd = sidecarPolicy("a\" { policy = \"write\" }\nkey_prefix \"", {});
  auto rules = acl::parseRules(odd.rules);
  ASSERT_TRUE(rules.isOk()) << rules.status().message();
  ASSERT_EQ(rules->rules.size(), 1u);
  EXPECT_EQ(rules->rules[0].resource, acl::Resource::kService);
  EXPECT_EQ(sidecarTokenSecretName("cairn", "Web_API."), "cairn-sidecar-web-api");
  value env = sidecarTokenEnv("cairn-sidecar-web");
  EXPECT_EQ(env.at("name").as_string(), "CONSUL_HTTP_TOKEN");
  EXPECT_EQ(env.at("valueFrom").at("secretKeyRef").at("name").as_string(), "cairn-sidecar-web");
}

}  // namespace
}  // namespace cairn::op
