// Decoding of PUT /v1/agent/service/register and /v1/agent/check/register bodies.
#include <gtest/gtest.h>

#include "core/http/agent_handlers_json.h"
#include "core/http/json_reader.h"

namespace cairn::http {
namespace {

using namespace std::chrono_literals;

web::json::value parse(std::string_view text) {
  auto v = parseJson(text);
  EXPECT_TRUE(v.isOk()) << text;
  return v.isOk() ? *v : web::json::value::object();
}

StatusOr<local::ServiceRegistration> service(std::string_view text) {
  return decodeServiceRegistration(parse(text));
}

TEST(RegistrationTest, PythonConsulLowercaseHttpCheck) {
  auto r = service(R"({"name":"web","id":"w1","port":8080,"tags":["a","b"],
      "enabletagoverride":true,"address":"127.0.0.1",
      "check":{"http":"http://127.0.0.1:9/h","interval":"10s","timeout":"1s",
               "DeregisterCriticalServiceAfter":"90m"}})");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->service.id(), "w1");
  EXPECT_EQ(r->service.service(), "web");
  EXPECT_EQ(r->service.port(), 8080);
  EXPECT_TRUE(r->service.enable_tag_override());
  ASSERT_EQ(r->service.tags_size(), 2);
  ASSERT_EQ(r->checks.size(), 1u);
  const auto& c = r->checks[0];
  EXPECT_EQ(c.check.check_id(), "service:w1");
  EXPECT_EQ(c.check.name(), "Service 'web' check");
  EXPECT_EQ(c.check.service_id(), "w1");
  EXPECT_EQ(c.check.status(), "");  // the agent starts it critical
  EXPECT_EQ(c.definition.http, "http://127.0.0.1:9/h");
  EXPECT_EQ(c.definition.interval, 10s);
  EXPECT_EQ(c.definition.timeout, 1s);
  EXPECT_EQ(c.definition.deregister_critical_service_after, 90min);
  EXPECT_EQ(c.definition.kind(), health::CheckKind::kHttp);
}

TEST(RegistrationTest, IdDefaultsToNameAndChecksAreMergedWithNumberedIds) {
  auto r = service(R"({"Name":"db","Check":{"TTL":"15s"},
      "Checks":[{"TCP":"127.0.0.1:5432","Interval":"5s"},
                {"CheckID":"own","Name":"Mine","TTL":"1m"}]})");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->service.id(), "db");
  ASSERT_EQ(r->checks.size(), 3u);
  EXPECT_EQ(r->checks[0].check.check_id(), "service:db:1");
  EXPECT_EQ(r->checks[0].definition.ttl, 15s);
  EXPECT_EQ(r->checks[1].check.check_id(), "service:db:2");
  EXPECT_EQ(r->checks[1].definition.tcp, "127.0.0.1:5432");
  EXPECT_EQ(r->checks[2].check.check_id(), "own");
  EXPECT_EQ(r->checks[2].check.name(), "Mine");
  for (const auto& c : r->checks) EXPECT_EQ(c.check.service_id(), "db");
}

TEST(RegistrationTest, SnakeCaseKeys) {
  auto r = service(R"({"name":"x","enable_tag_override":true,
      "check":{"tcp":"127.0.0.1:80","interval":"5s","deregister_critical_service_after":"2m",
               "tls_skip_verify":true,"failures_before_critical":3,"success_before_passing":2,
               "check_id":"c1","output_max_size":100}})");
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_TRUE(r->service.enable_tag_override());
  const auto& d = r->checks.at(0).definition;
  EXPECT_EQ(r->checks[0].check.check_id(), "c1");
  EXPECT_EQ(d.deregister_critical_service_after, 2min);
  EXPECT_TRUE(d.tls_skip_verify);
  EXPECT_EQ(d.failures_before_critical, 3);
  EXPECT_EQ(d.success_before_passing, 2);
  EXPECT_EQ(d.output_max_size, 100u);
}

TEST(RegistrationTest, PythonScriptAndTtlChecks) {
  auto r = service(R"({"name":"s","check":{"script":"exit 0","interval":"10s"}})");
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(r->checks.at(0).definition.script_args,
            (std::vector<std::string>{"/bin/sh", "-c", "exit 0"}));
  auto t = service(R"({"name":"s","check":{"ttl":"30s"}})");
  ASSERT_TRUE(t.isOk());
  EXPECT_EQ(t->checks.at(0).definition.kind(), health::CheckKind::kTtl);
  auto args = service(R"({"name":"s","check":{"ScriptArgs":["/bin/true"],"interval":"1s"}})");
  ASSERT_TRUE(args.isOk());
  EXPECT_EQ(args->checks.at(0).definition.script_args, (std::vector<std::string>{"/bin/true"}));
}

TEST(RegistrationTest, EmptyCheckObjectMeansNoCheck) {
  auto r = service(R"({"name":"s","check":{}})");
  ASSERT_TRUE(r.isOk());
  EXPECT_TRUE(r->checks.empty());
}

TEST(RegistrationTest, Errors) {
  auto expect = [](std::string_view body, std::string_view prefix) {
    auto r = service(body);
    ASSERT_FALSE(r.isOk()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().substr(0, prefix.size()), prefix) << r.status().message();
  };
  expect(R"({"port":1})", "Missing service name");
  expect(R"({"name":""})", "Missing service name");
  expect(R"({"name":"a","address":"0.0.0.0"})", "Invalid service address");
  expect(R"({"name":"a","address":"::"})", "Invalid service address");
  expect(R"({"name":"a","meta":{"bad key":"v"}})",
         "Invalid Service Meta: Couldn't load metadata pair ('bad key', 'v'): Key contains");
  expect(R"({"name":"a","meta":{"consul-x":"v"}})", "Invalid Service Meta");
  expect(R"({"name":"a","meta":{"k":")" + std::string(513, 'v') + R"("}})", "Invalid Service Meta");
  std::string many = R"({"name":"a","meta":{)";
  for (int i = 0; i < 65; ++i)
    many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  expect(many + "}}", "Invalid Service Meta: Node metadata cannot contain more than 64");
  expect(R"({"name":"a","port":"80"})", "Request decode failed");
  expect(R"({"name":"a","check":{"ttl":"soon"}})", "Request decode failed: TTL");
  expect(R"({"name":"a","check":{"udp":"127.0.0.1:53","interval":"1s"}})",
         "Invalid check: UDP checks are not supported");
  expect(R"({"name":"a","check":"x"})", "Request decode failed");
}

TEST(RegistrationTest, CheckRegister) {
  auto r = decodeCheckRegistration(
      parse(R"({"name":"mem","serviceid":"web","ttl":"10s","notes":"n","status":"passing"})"));
  ASSERT_TRUE(r.isOk()) << r.status().message();
  EXPECT_EQ(r->check.check_id(), "mem");
  EXPECT_EQ(r->check.service_id(), "web");
  EXPECT_EQ(r->check.notes(), "n");
  EXPECT_EQ(r->check.status(), "passing");
  EXPECT_EQ(r->definition.ttl, 10s);
  auto id =
      decodeCheckRegistration(parse(R"({"Name":"n","ID":"i","HTTP":"http://h/","Interval":"1s",
      "Header":{"X":["1","2"]},"Method":"POST"})"));
  ASSERT_TRUE(id.isOk());
  EXPECT_EQ(id->check.check_id(), "i");
  EXPECT_EQ(id->definition.header.at("X"), (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(id->definition.method, "POST");
  auto missing = decodeCheckRegistration(parse(R"({"ttl":"10s"})"));
  ASSERT_FALSE(missing.isOk());
  EXPECT_EQ(missing.status().message(), "Missing check name");
}

TEST(RegistrationTest, AgentServiceJson) {
  v1::CatalogService s;
  s.set_id("w1");
  s.set_service("web");
  s.add_tags("t");
  s.set_port(80);
  JsonWriter a, b;
  writeAgentService(a, s, "dc1", true);
  writeAgentService(b, s, "dc1", true);
  EXPECT_EQ(a.str(), b.str());
  auto v = parse(a.str());
  EXPECT_EQ(v.at("ID").as_string(), "w1");
  EXPECT_EQ(v.at("Weights").at("Passing").as_integer(), 1);
  EXPECT_EQ(v.at("Datacenter").as_string(), "dc1");
  EXPECT_EQ(v.at("ContentHash").as_string().size(), 16u);
  EXPECT_TRUE(v.at("Meta").is_object());
  s.set_port(81);
  JsonWriter c;
  writeAgentService(c, s, "dc1", true);
  EXPECT_NE(parse(c.str()).at("ContentHash").as_string(), v.at("ContentHash").as_string());
}

}  // namespace
}  // namespace cairn::http
