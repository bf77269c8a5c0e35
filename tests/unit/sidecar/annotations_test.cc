#include "sidecar/annotations.h"

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

namespace cairn::sidecar {
namespace {

const PodIdentity kPod{"web-1", "shop", "10.1.2.3", "node-1", "uid-1"};

SidecarPlan plan(StringMap annotations, StringMap labels = {{"app", "web"}},
                 std::map<std::string, int> ports = {{"http", 8080}}) {
  return planRegistrations(kPod, PodMetadata{std::move(annotations), std::move(labels)}, ports);
}

const local::CheckRegistration* findCheck(const local::ServiceRegistration& r,
                                          const std::string& kind) {
  for (const auto& c : r.checks) {
    if (c.check.check_id() == checkIdFor(r.service.id(), kind)) return &c;
  }
  return nullptr;
}

TEST(SidecarPlan, DefaultsToTheAppLabelWithPodIdentity) {
  SidecarPlan p = plan({{"cairn.io/service-port", "8080"}});
  ASSERT_EQ(p.services.size(), 1u);
  const auto& s = p.services[0].service;
  EXPECT_EQ(s.service(), "web");
  EXPECT_EQ(s.id(), "web-1-web");
  EXPECT_EQ(s.address(), "10.1.2.3");
  EXPECT_EQ(s.port(), 8080);
  EXPECT_EQ(s.meta().at("k8s-namespace"), "shop");
  EXPECT_EQ(s.meta().at("pod-name"), "web-1");
  EXPECT_TRUE(p.problems.empty());
  EXPECT_TRUE(p.services[0].checks.empty());
}

TEST(SidecarPlan, NameFallsBackToTheKubernetesLabelThenThePodName) {
  EXPECT_EQ(plan({}, {{"app.kubernetes.io/name", "shop-api"}}).services[0].service.service(),
            "shop-api");
  EXPECT_EQ(plan({}, {}).services[0].service.service(), "web-1");
  EXPECT_EQ(plan({{"cairn.io/service-name", "api"}}).services[0].service.service(), "api");
}

TEST(SidecarPlan, TagsMetaAndNamedPorts) {
  SidecarPlan p = plan({{"cairn.io/service-port", "http"},
                        {"cairn.io/service-tags", " v1, canary ,,"},
                        {"cairn.io/service-meta-version", "1.2"},
                        {"cairn.io/service-meta-pod-name", "spoofed"}});
  const auto& s = p.services[0].service;
  EXPECT_EQ(s.port(), 8080);
  ASSERT_EQ(s.tags_size(), 2);
  EXPECT_EQ(s.tags(0), "v1");
  EXPECT_EQ(s.tags(1), "canary");
  EXPECT_EQ(s.meta().at("version"), "1.2");
  EXPECT_EQ(s.meta().at("pod-name"), "web-1");  // the pod's identity cannot be overridden
}

TEST(SidecarPlan, ChecksTargetThePodIpAndServicePort) {
  SidecarPlan p = plan({{"cairn.io/service-port", "8080"},
                        {"cairn.io/check-http", "/healthz"},
                        {"cairn.io/check-tcp", "true"},
                        {"cairn.io/check-grpc", "shop.Health"},
                        {"cairn.io/check-ttl", "30s"},
                        {"cairn.io/check-interval", "5s"},
                        {"cairn.io/check-timeout", "2s"},
                        {"cairn.io/deregister-critical-after", "5m"}});
  ASSERT_TRUE(p.problems.empty()) << p.problems[0];
  const auto& r = p.services[0];
  ASSERT_EQ(r.checks.size(), 4u);
  EXPECT_EQ(findCheck(r, "http")->definition.http, "http://10.1.2.3:8080/healthz");
  EXPECT_EQ(findCheck(r, "tcp")->definition.tcp, "10.1.2.3:8080");
  EXPECT_EQ(findCheck(r, "grpc")->definition.grpc, "10.1.2.3:8080/shop.Health");
  EXPECT_EQ(findCheck(r, "ttl")->definition.ttl, std::chrono::seconds(30));
  EXPECT_EQ(findCheck(r, "http")->definition.interval, std::chrono::seconds(5));
  EXPECT_EQ(findCheck(r, "http")->definition.timeout, std::chrono::seconds(2));
  EXPECT_EQ(findCheck(r, "tcp")->definition.deregister_critical_service_after,
            std::chrono::minutes(5));
  EXPECT_EQ(findCheck(r, "http")->check.service_id(), "web-1-web");
}

TEST(SidecarPlan, IPv6PodAddressesAreBracketed) {
  PodIdentity v6 = kPod;
  v6.ip = "fd00::5";
  auto p = planRegistrations(v6, {{{"cairn.io/service-port", "80"}, {"cairn.io/check-tcp", "1"}}},
                             {});
  EXPECT_EQ(p.services[0].checks[0].definition.tcp, "[fd00::5]:80");
}

TEST(SidecarPlan, SeveralServicesWithPositionalAndPerServiceOptions) {
  SidecarPlan p = plan({{"cairn.io/service-names", "api, admin"},
                        {"cairn.io/service-port", "8080,9090"},
                        {"cairn.io/service-tags", "shared"},
                        {"cairn.io/admin.service-tags", "internal"},
                        {"cairn.io/admin.check-http", "/ready"}});
  ASSERT_EQ(p.services.size(), 2u);
  const auto& admin = p.services[0];  // sorted by ID: web-1-admin, web-1-api
  const auto& api = p.services[1];
  EXPECT_EQ(admin.service.id(), "web-1-admin");
  EXPECT_EQ(admin.service.port(), 9090);
  EXPECT_EQ(admin.service.tags(0), "internal");
  EXPECT_EQ(findCheck(admin, "http")->definition.http, "http://10.1.2.3:9090/ready");
  EXPECT_EQ(api.service.port(), 8080);
  EXPECT_EQ(api.service.tags(0), "shared");
  EXPECT_TRUE(api.checks.empty());
}

// Each bad annotation: a problem line naming it, and a critical check on its service that says
// what is wrong; the rest of the pod's registrations still happen.
struct BadCase {
  const char* name;
  StringMap annotations;
  const char* expected;  // a fragment of the problem and of the check's output
};

class BadAnnotation : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadAnnotation, IsReportedWithoutStoppingTheRest) {
  const BadCase& c = GetParam();
  SidecarPlan p = plan(c.annotations);
  ASSERT_FALSE(p.problems.empty());
  EXPECT_NE(p.problems[0].find(c.expected), std::string::npos) << p.problems[0];
  ASSERT_EQ(p.services.size(), 1u);
  const auto* check = findCheck(p.services[0], "annotations");
  ASSERT_NE(check, nullptr);
  EXPECT_EQ(check->check.status(), "critical");
  EXPECT_NE(check->check.output().find(c.expected), std::string::npos) << check->check.output();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadAnnotation,
    ::testing::Values(
        BadCase{"PortZero", {{"cairn.io/service-port", "0"}}, "service-port: \"0\" is neither"},
        BadCase{"PortUnknownName", {{"cairn.io/service-port", "metrics"}}, "named container port"},
        BadCase{"PortTooLarge", {{"cairn.io/service-port", "70000"}}, "1-65535"},
        BadCase{"HttpWithoutSlash",
                {{"cairn.io/service-port", "80"}, {"cairn.io/check-http", "healthz"}},
                "not a path starting with /"},
        BadCase{"HttpWithoutPort", {{"cairn.io/check-http", "/healthz"}}, "needs a service port"},
        BadCase{"TcpNotBool",
                {{"cairn.io/service-port", "80"}, {"cairn.io/check-tcp", "yes"}},
                "is not true or false"},
        BadCase{"TtlNotDuration", {{"cairn.io/check-ttl", "soon"}}, "not a positive duration"},
        BadCase{"NegativeInterval",
                {{"cairn.io/service-port", "80"},
                 {"cairn.io/check-tcp", "true"},
                 {"cairn.io/check-interval", "-5s"}},
                "check-interval"},
        BadCase{"BadMetaKey", {{"cairn.io/service-meta-consul-x", "1"}}, "service-meta-consul-x"},
        BadCase{"PerServicePrefixNamed",
                {{"cairn.io/service-name", "api"}, {"cairn.io/api.service-port", "x"}},
                "cairn.io/api.service-port"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST(SidecarPlan, InvalidNamesAndUnknownAnnotationsAreSkippedWithAProblem) {
  SidecarPlan p = plan({{"cairn.io/service-names", "good,bad name,good"},
                        {"cairn.io/no-such-option", "x"},
                        {"cairn.io/other.service-port", "80"},
                        {"unrelated.io/key", "ignored silently"}});
  ASSERT_EQ(p.services.size(), 1u);
  EXPECT_EQ(p.services[0].service.service(), "good");
  std::string all;
  for (const auto& line : p.problems) all += line + "\n";
  EXPECT_NE(all.find("\"bad name\": not registered"), std::string::npos) << all;
  EXPECT_NE(all.find("named twice"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown annotation \"cairn.io/no-such-option\""), std::string::npos) << all;
  EXPECT_NE(all.find("service \"other\" ignored"), std::string::npos) << all;
  EXPECT_EQ(all.find("unrelated.io"), std::string::npos);
}

TEST(SidecarPlan, IsDeterministicSoARestartRegistersTheSameInstances) {
  StringMap a = {{"cairn.io/service-names", "b,a"}, {"cairn.io/service-port", "1,2"},
                 {"cairn.io/check-tcp", "true"}};
  SidecarPlan first = plan(a);
  SidecarPlan second = plan(a);
  ASSERT_EQ(first.services.size(), second.services.size());
  for (size_t i = 0; i < first.services.size(); ++i) {
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(first.services[i].service,
                                                                   second.services[i].service));
    EXPECT_EQ(first.services[i].checks[0].check.check_id(),
              second.services[i].checks[0].check.check_id());
  }
}

}  // namespace
}  // namespace cairn::sidecar
