// The Consul key table, the strict JSON reader and the YAML reader (positions in errors). The walk
// of a config file against the table is tested in agent_config_test.cc.
#include <gtest/gtest.h>

#include <set>

#include "core/config/config_file.h"
#include "core/config/consul_keys.h"
#include "core/config/json_config.h"
#include "core/config/yaml_config.h"

namespace cairn::config {
namespace {

std::string jsonError(const std::string& text) {
  auto v = parseStrictJson(text, "f.json");
  return v.isOk() ? "<ok>" : v.status().message();
}

TEST(ConsulKeys, TableIsConsistent) {
  std::set<std::string> paths;
  for (const ConsulKey& k : consulKeys()) {
    EXPECT_TRUE(paths.insert(std::string(k.path)).second) << "duplicate " << k.path;
    // Every dotted key sits in a block that is itself in the table.
    auto dot = k.path.rfind('.');
    if (dot != std::string_view::npos && k.path != "telemetry.disable_compat_1.9") {
      const ConsulKey* parent = findConsulKey(k.path.substr(0, dot));
      ASSERT_NE(parent, nullptr) << k.path;
      EXPECT_EQ(parent->kind, KeyKind::kBlock) << k.path;
    }
  }
  EXPECT_GT(paths.size(), 400u);
}

TEST(ConsulKeys, ImplementedKeysAreExactlyTheOnesWithSetters) {
  std::vector<std::string> marked;
  for (const ConsulKey& k : consulKeys()) {
    if (k.support == Support::kImplemented || k.support == Support::kStored) {
      marked.emplace_back(k.path);
    }
  }
  std::sort(marked.begin(), marked.end());
  EXPECT_EQ(marked, implementedKeyPaths());
}

TEST(ConsulKeys, KnowsConsulsBlocksAndDeprecatedForms) {
  for (const char* path : {"acl.enabled",
                           "acl.tokens.initial_management",
                           "acl.tokens.master",
                           "acl_datacenter",
                           "ca_file",
                           "verify_incoming",
                           "tls.defaults.verify_outgoing",
                           "telemetry.statsite_address",
                           "performance.raft_multiplier",
                           "dns_config.recursor_timeout",
                           "ports.serf_lan",
                           "addresses.https",
                           "limits.http_max_conns_per_client",
                           "autopilot.min_quorum",
                           "connect.ca_config",
                           "ui_config.metrics_proxy.base_url",
                           "primary_datacenter",
                           "encrypt",
                           "config_entries.bootstrap",
                           "watches",
                           "auto_encrypt.tls",
                           "segments"}) {
    EXPECT_NE(findConsulKey(path), nullptr) << path;
  }
  EXPECT_EQ(findConsulKey("acl.nope"), nullptr);
  EXPECT_EQ(findConsulKey("server_mode"), nullptr);
  EXPECT_EQ(findConsulKey("dns_config.service_ttl")->support, Support::kImplemented);
}

TEST(StrictJson, ParsesValuesWithPositions) {
  auto v = parseStrictJson(
      "{\n  \"a\": [1, -2.5e3, true, null],\n  \"b\": {\"c\": \"\\u00e9\\n\"}\n}", "f.json");
  ASSERT_TRUE(v.isOk()) << v.status().message();
  const ConfigValue* a = v->find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->pos().line, 2);
  EXPECT_EQ(a->pos().col, 8);
  ASSERT_EQ(a->items().size(), 4u);
  EXPECT_EQ(a->items()[1].text(), "-2.5e3");
  EXPECT_EQ(v->find("b")->find("c")->text(), "\xc3\xa9\n");
  EXPECT_EQ(v->toJson(), R"({"a":[1,-2.5e3,true,null],"b":{"c":"é\n"}})");
}

TEST(StrictJson, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(jsonError("{\"a\": 1,}"), "f.json:1:9: trailing comma before '}'");
  EXPECT_EQ(jsonError("{\n  \"a\": [1, 2,]\n}"), "f.json:2:14: trailing comma before ']'");
  EXPECT_EQ(jsonError("{\"a\": 1 \"b\": 2}"),
            "f.json:1:9: unexpected '\"' in an object, expected ',' or '}'");
  EXPECT_EQ(jsonError("{'a': 1}"), "f.json:1:2: strings must use double quotes");
  EXPECT_EQ(jsonError("{\"a\": 'x'}"), "f.json:1:7: strings must use double quotes");
  EXPECT_EQ(jsonError("// c\n{}"), "f.json:1:1: comments are not allowed in JSON");
  EXPECT_EQ(jsonError("{\"a\": 01}"), "f.json:1:8: numbers cannot have leading zeros");
  EXPECT_EQ(jsonError("{\"a\": \"x\ny\"}"),
            "f.json:1:9: unterminated string (a newline must be written \\n)");
  EXPECT_EQ(jsonError("{\"a\": 1"),
            "f.json:1:8: unexpected end of file in an object, expected "
            "',' or '}'");
  EXPECT_EQ(jsonError("{} {}"), "f.json:1:4: unexpected '{' after the top-level value");
  EXPECT_EQ(jsonError("[1]"), "f.json:1:1: expected a map of config keys (a JSON object)");
  EXPECT_EQ(jsonError("{\"a\": tru}"), "f.json:1:7: unexpected 't', expected a value");
  EXPECT_NE(jsonError("{\"a\":" + std::string(200, '[')).find("nesting deeper than"),
            std::string::npos);
  EXPECT_EQ(jsonError("  \n "), "<ok>");
}

TEST(YamlConfig, TypesPlainScalarsAndKeepsQuotedOnesStrings) {
  auto v = parseYamlConfig("a: 8080\nb: \"8080\"\nc: yes\nd: ~\ne: [x, 1.5]\n", "f.yaml");
  ASSERT_TRUE(v.isOk()) << v.status().message();
  EXPECT_EQ(v->toJson(), R"({"a":8080,"b":"8080","c":true,"d":null,"e":["x",1.5]})");
  EXPECT_EQ(v->find("c")->pos().line, 3);
  auto bad = parseYamlConfig("a: [1, 2\n", "f.yaml");
  ASSERT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().message().rfind("f.yaml:", 0), 0u) << bad.status().message();
}

}  // namespace
}  // namespace cairn::config
