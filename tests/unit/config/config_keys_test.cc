// The Consul key table, the strict JSON reader, the YAML reader and the walk of a config tree:
// implemented keys take effect, known-but-unimplemented keys are gathered for one warning,
// unknown keys and malformed files are errors with file, line and column.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/config/agent_config.h"
#include "core/config/config_file.h"
#include "core/config/consul_keys.h"
#include "core/config/json_config.h"
#include "core/config/yaml_config.h"

namespace cairn::config {
namespace {

namespace fs = std::filesystem;

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

class ConfigWalkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cairn-keys-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream((dir_ / name).string()) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

TEST_F(ConfigWalkTest, KnownButUnimplementedKeysAreGatheredForOneWarning) {
  std::string f = write("consul.json", R"({
    "datacenter": "dc2",
    "primary_datacenter": "dc1",
    "acl": {"enabled": false, "tokens": {"agent": "x"}},
    "telemetry": {"statsite_address": "127.0.0.1:2180"},
    "disable_update_check": true,
    "dns_config": {"allow_stale": true, "only_passing": true}
  })");
  std::string g = write("more.yaml", "encrypt: abc\nrecursors: [1.1.1.1]\n");
  AgentConfig c;
  ASSERT_TRUE(applyConfigFile(f, c).isOk());
  ASSERT_TRUE(applyConfigFile(g, c).isOk());
  EXPECT_EQ(c.datacenter, "dc2");
  EXPECT_TRUE(c.dns_only_passing);
  EXPECT_EQ(c.recursors, std::vector<std::string>{"1.1.1.1"});
  EXPECT_EQ(ignoredKeysWarning(c),
            "config: ignoring keys Cairn does not implement: acl.enabled, acl.tokens.agent, "
            "primary_datacenter, telemetry.statsite_address (file consul.json); encrypt, "
            "recursors (file more.yaml)");
  EXPECT_EQ(ignoredKeysWarning(AgentConfig{}), "");
}

TEST_F(ConfigWalkTest, UnknownKeysAreErrorsWithFileLineAndColumn) {
  std::string f = write("a.json", "{\n  \"acl\": {\"enabeld\": true}\n}");
  AgentConfig c;
  Status s = applyConfigFile(f, c);
  EXPECT_EQ(s.message(), "config file " + f +
                             ":2:22: unknown key \"acl.enabeld\" (not a Consul agent "
                             "configuration key)");
  std::string g = write("b.json", "{\"server\": true,}");
  EXPECT_EQ(applyConfigFile(g, c).message(),
            "config file " + g + ":1:17: trailing comma before '}'");
  EXPECT_FALSE(c.server);  // nothing applied from a failed file
}

TEST_F(ConfigWalkTest, ServiceAndCheckDefinitionsAreKeptAsJson) {
  std::string f = write("web.json", R"({
    "service": {"name": "web", "port": 80, "check": {"http": "http://x/", "interval": "10s"}},
    "services": [{"name": "a"}, {"name": "b", "tags": ["t"]}],
    "check": {"id": "disk", "name": "Disk", "ttl": "30s"},
    "checks": [{"name": "mem", "ttl": "1m"}],
    "node_meta": {"rack": "r1"},
    "addresses": {"http": "127.0.0.2"}
  })");
  AgentConfig c;
  ASSERT_TRUE(applyConfigFile(f, c).isOk());
  ASSERT_EQ(c.services.size(), 3u);
  EXPECT_EQ(c.services[0].json,
            R"({"name":"web","port":80,"check":{"http":"http://x/","interval":"10s"}})");
  EXPECT_EQ(c.services[0].file, f);
  EXPECT_EQ(c.services[0].pos.line, 2);
  EXPECT_EQ(c.services[2].json, R"({"name":"b","tags":["t"]})");
  ASSERT_EQ(c.checks.size(), 2u);
  EXPECT_EQ(c.checks[1].json, R"({"name":"mem","ttl":"1m"})");
  EXPECT_EQ(c.node_meta, (std::map<std::string, std::string>{{"rack", "r1"}}));
  EXPECT_EQ(c.http_addr, "127.0.0.2");
  EXPECT_TRUE(c.ignored_keys.empty());
  std::string g = write("bad.json", R"({"services": {"name": "a"}})");
  EXPECT_NE(applyConfigFile(g, c).message().find("key \"services\": expected a list of objects"),
            std::string::npos);
}

TEST_F(ConfigWalkTest, StartJoinAddsToRetryJoin) {
  AgentConfig c;
  ASSERT_TRUE(
      applyConfigFile(write("j.json", R"({"retry_join": ["a"], "start_join": ["b"]})"), c).isOk());
  EXPECT_EQ(c.retry_join, (std::vector<std::string>{"a", "b"}));
}

}  // namespace
}  // namespace cairn::config
