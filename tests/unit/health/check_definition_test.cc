#include "core/health/check_definition.h"

#include <gtest/gtest.h>

namespace cairn::health {
namespace {

using namespace std::chrono_literals;

CheckDefinition httpCheck() {
  CheckDefinition d;
  d.http = "http://127.0.0.1:8080/health";
  d.interval = 10s;
  return d;
}

TEST(CheckStatusNames, RoundTripConsulWords) {
  for (auto s : {CheckStatus::kPassing, CheckStatus::kWarning, CheckStatus::kCritical}) {
    StatusOr<CheckStatus> parsed = parseCheckStatus(checkStatusName(s));
    ASSERT_TRUE(parsed.isOk());
    EXPECT_EQ(*parsed, s);
  }
  EXPECT_EQ(checkStatusName(CheckStatus::kWarning), "warning");
}

TEST(CheckStatusNames, RejectsOtherWordsWithAgentMessage) {
  StatusOr<CheckStatus> bad = parseCheckStatus("Passing");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "Invalid check status: 'Passing'");
  EXPECT_FALSE(parseCheckStatus("maintenance").isOk());
}

TEST(CheckKindNames, MatchConsulTypes) {
  EXPECT_EQ(checkKindName(CheckKind::kNone), "");
  EXPECT_EQ(checkKindName(CheckKind::kHttp), "http");
  EXPECT_EQ(checkKindName(CheckKind::kScript), "script");
}

TEST(CheckDefinition, KindFollowsTheTargetField) {
  CheckDefinition d;
  EXPECT_EQ(d.kind(), CheckKind::kNone);
  d.tcp = "127.0.0.1:22";
  EXPECT_EQ(d.kind(), CheckKind::kTcp);
  CheckDefinition t;
  t.ttl = 30s;
  EXPECT_EQ(t.kind(), CheckKind::kTtl);
  CheckDefinition s;
  s.script_args = {"/bin/true"};
  EXPECT_EQ(s.kind(), CheckKind::kScript);
  CheckDefinition g;
  g.grpc = "127.0.0.1:9000/svc";
  EXPECT_EQ(g.kind(), CheckKind::kGrpc);
}

TEST(CheckDefinition, CatalogOnlyCheckIsValid) {
  CheckDefinition d;
  EXPECT_TRUE(d.validate().isOk());
  StatusOr<CheckDefinition> n = d.normalized();
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(*n->initial_status, CheckStatus::kCritical);
}

TEST(CheckDefinition, RejectsMoreThanOneKind) {
  CheckDefinition d = httpCheck();
  d.tcp = "127.0.0.1:80";
  Status s = d.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("exactly one"), std::string::npos) << s.message();
  CheckDefinition t;
  t.ttl = 10s;
  t.script_args = {"/bin/true"};
  EXPECT_FALSE(t.validate().isOk());
}

TEST(CheckDefinition, IntervalRequiredForActiveChecks) {
  CheckDefinition d = httpCheck();
  d.interval = 0s;
  Status s = d.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Interval must be > 0 for http checks");
  for (auto make : {+[](CheckDefinition& c) { c.tcp = "127.0.0.1:1"; },
                    +[](CheckDefinition& c) { c.grpc = "127.0.0.1:1"; },
                    +[](CheckDefinition& c) { c.script_args = {"/bin/true"}; }}) {
    CheckDefinition c;
    make(c);
    EXPECT_FALSE(c.validate().isOk());
    c.interval = 5s;
    EXPECT_TRUE(c.validate().isOk());
  }
}

TEST(CheckDefinition, TtlWithIntervalIsRejected) {
  CheckDefinition d;
  d.ttl = 10s;
  d.interval = 10s;
  EXPECT_EQ(d.validate().message(), "Interval and TTL cannot both be specified");
}

TEST(CheckDefinition, FailuresBeforeWarningAtMostCritical) {
  CheckDefinition d = httpCheck();
  d.failures_before_critical = 2;
  d.failures_before_warning = 3;
  Status s = d.validate();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("FailuresBeforeWarning"), std::string::npos);
  d.failures_before_warning = 2;
  EXPECT_TRUE(d.validate().isOk());
}

TEST(CheckDefinition, NegativeValuesRejected) {
  CheckDefinition d = httpCheck();
  d.success_before_passing = -1;
  EXPECT_FALSE(d.validate().isOk());
  d = httpCheck();
  d.timeout = -1s;
  EXPECT_FALSE(d.validate().isOk());
}

TEST(CheckDefinition, TargetsAreValidated) {
  CheckDefinition d = httpCheck();
  d.http = "ftp://x/";
  EXPECT_FALSE(d.validate().isOk());
  d.http = "http:///path";
  EXPECT_FALSE(d.validate().isOk());
  d.http = "http://a b/";
  EXPECT_FALSE(d.validate().isOk());
  CheckDefinition t;
  t.interval = 1s;
  for (const char* bad :
       {"127.0.0.1", "127.0.0.1:0", "127.0.0.1:70000", ":80", "[::1]80", "::1:80", "host:port"}) {
    t.tcp = bad;
    EXPECT_FALSE(t.validate().isOk()) << bad;
  }
  for (const char* good : {"127.0.0.1:80", "[::1]:443", "localhost:8500"}) {
    t.tcp = good;
    EXPECT_TRUE(t.validate().isOk()) << good;
  }
  CheckDefinition s;
  s.interval = 1s;
  s.script_args = {""};
  EXPECT_FALSE(s.validate().isOk());
}

TEST(CheckDefinition, NormalizedAppliesDefaultsAndMinimums) {
  CheckDefinition d = httpCheck();
  d.interval = 100ms;
  d.failures_before_critical = 3;
  d.deregister_critical_service_after = 10s;
  StatusOr<CheckDefinition> n = d.normalized();
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(n->interval, 1s);
  EXPECT_EQ(n->timeout, 10s);
  EXPECT_EQ(n->method, "GET");
  EXPECT_EQ(n->output_max_size, 4096u);
  EXPECT_EQ(n->failures_before_warning, 3);
  EXPECT_EQ(n->deregister_critical_service_after, 1min);
  EXPECT_EQ(*n->initial_status, CheckStatus::kCritical);
}

TEST(CheckDefinition, NormalizedKeepsExplicitValues) {
  CheckDefinition d;
  d.script_args = {"/bin/true"};
  d.interval = 30s;
  d.output_max_size = 10;
  d.initial_status = CheckStatus::kPassing;
  d.failures_before_critical = 3;
  d.failures_before_warning = 1;
  StatusOr<CheckDefinition> n = d.normalized();
  ASSERT_TRUE(n.isOk());
  EXPECT_EQ(n->timeout, 30s);  // script default
  EXPECT_EQ(n->interval, 30s);
  EXPECT_EQ(n->output_max_size, 10u);
  EXPECT_EQ(n->failures_before_warning, 1);
  EXPECT_EQ(*n->initial_status, CheckStatus::kPassing);
  EXPECT_TRUE(n->method.empty());
  EXPECT_EQ(n->deregister_critical_service_after, 0s);
}

TEST(CheckDefinition, DurationsParseGoSyntaxAndNameTheField) {
  StatusOr<Nanos> d = parseCheckDuration("Interval", "1m30s");
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(*d, 90s);
  StatusOr<Nanos> bad = parseCheckDuration("Timeout", "10");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message().rfind("Invalid Timeout: ", 0), 0u) << bad.status().message();
  EXPECT_FALSE(parseCheckDuration("TTL", "-5s").isOk());
}

TEST(GrpcTarget, SplitsService) {
  StatusOr<GrpcTarget> t = parseGrpcTarget("127.0.0.1:50051/my.Service");
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->address, "127.0.0.1:50051");
  EXPECT_EQ(t->service, "my.Service");
  StatusOr<GrpcTarget> plain = parseGrpcTarget("localhost:50051");
  ASSERT_TRUE(plain.isOk());
  EXPECT_EQ(plain->service, "");
  EXPECT_FALSE(parseGrpcTarget("nohostport/svc").isOk());
}

}  // namespace
}  // namespace cairn::health
