#include "core/config/agent_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/config/config_file.h"

namespace cairn::config {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cairn-config-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    fs::path path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  // Loads with -data-dir set, so tests need not repeat it.
  StatusOr<AgentConfig> load(std::vector<std::string> args) {
    args.insert(args.begin(), {"-data-dir", (dir_ / "data").string()});
    return loadAgentConfig(args);
  }
  std::string error(std::vector<std::string> args) {
    auto c = load(std::move(args));
    return c.isOk() ? "<ok>" : c.status().message();
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsMatchConsul) {
  auto c = load({});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_EQ(c->node_name, host);
  EXPECT_EQ(c->datacenter, "dc1");
  EXPECT_EQ(c->http_port, 8500);
  EXPECT_EQ(c->dns_port, 8600);
  EXPECT_EQ(c->bind_addr, "0.0.0.0");
  EXPECT_EQ(c->advertise_addr, "127.0.0.1");
  EXPECT_FALSE(c->server);
  EXPECT_EQ(c->session_ttl_min_ns, 10'000'000'000);
}

TEST_F(ConfigTest, DevIsABootstrappedServerOnLoopback) {
  auto c = loadAgentConfig({"-dev"});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->dev && c->server && c->bootstrap);
  EXPECT_EQ(c->bind_addr, "127.0.0.1");
  EXPECT_EQ(c->advertise_addr, "127.0.0.1");
  EXPECT_TRUE(c->data_dir.empty());
}

TEST_F(ConfigTest, EveryFlagInEverySyntax) {
  auto c = load({"-server",
                 "--bootstrap-expect=3",
                 "-node",
                 "n1",
                 "--datacenter",
                 "EU-West_1",
                 "-bind=10.0.0.5",
                 "-client",
                 "0.0.0.0",
                 "-http-port=1",
                 "-dns-port",
                 "-1",
                 "-server-port=2",
                 "-grpc-port",
                 "3",
                 "-pid-file",
                 "/tmp/p",
                 "-log-level=DEBUG",
                 "-retry-join",
                 "a",
                 "--retry-join=b"});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->server);
  EXPECT_EQ(c->bootstrap_expect, 3);
  EXPECT_EQ(c->node_name, "n1");
  EXPECT_EQ(c->datacenter, "eu-west_1");
  EXPECT_EQ(c->bind_addr, "10.0.0.5");
  EXPECT_EQ(c->advertise_addr, "10.0.0.5");
  EXPECT_EQ(c->client_addr, "0.0.0.0");
  EXPECT_EQ(c->http_port, 1);
  EXPECT_EQ(c->dns_port, -1);
  EXPECT_EQ(c->server_port, 2);
  EXPECT_EQ(c->grpc_port, 3);
  EXPECT_EQ(c->pid_file, "/tmp/p");
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->retry_join, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ConfigTest, JsonFileWithEveryKey) {
  std::string f = write("a.json", R"({
	"datacenter": "dc2", "node_name": "jn", "data_dir": "/d", "server": true,
	"bootstrap_expect": 3, "bind_addr": "10.1.1.1", "client_addr": "127.0.0.2",
	"advertise_addr": "10.9.9.9",
	"ports": {"http": 18500, "dns": 18600, "server": 18300, "grpc": 18502},
	"log_level": "warn", "retry_join": ["x", "y"], "pid_file": "/p",
	"leave_on_terminate": true, "session_ttl_min": "1m30s",
	"enable_script_checks": true, "check_update_interval": "30s",
	"limits": {"kv_max_value_size": 1024, "txn_max_req_len": 2048}
})");
  auto c = loadAgentConfig({"-config-file", f});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->datacenter, "dc2");
  EXPECT_EQ(c->node_name, "jn");
  EXPECT_EQ(c->data_dir, "/d");
  EXPECT_TRUE(c->server);
  EXPECT_EQ(c->bootstrap_expect, 3);
  EXPECT_EQ(c->advertise_addr, "10.9.9.9");
  EXPECT_EQ(c->client_addr, "127.0.0.2");
  EXPECT_EQ(c->http_port, 18500);
  EXPECT_EQ(c->dns_port, 18600);
  EXPECT_EQ(c->server_port, 18300);
  EXPECT_EQ(c->grpc_port, 18502);
  EXPECT_EQ(c->log_level, "warn");
  EXPECT_EQ(c->retry_join, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c->pid_file, "/p");
  EXPECT_TRUE(c->leave_on_terminate);
  EXPECT_EQ(c->session_ttl_min_ns, 90'000'000'000);
  EXPECT_TRUE(c->enable_script_checks);
  EXPECT_EQ(c->check_update_interval_ns, 30'000'000'000);
  EXPECT_EQ(c->kv_max_value_size, 1024u);
  EXPECT_EQ(c->txn_max_req_len, 2048u);
}

TEST_F(ConfigTest, DnsConfigKeys) {
  std::string f = write("dns.yaml",
                        "server: true\nbootstrap: true\ndomain: cairn\ndns_config:\n"
                        "  allow_stale: true\n  node_ttl: 30s\n  udp_answer_limit: 5\n"
                        "  only_passing: true\n  enable_truncate: true\n"
                        "  service_ttl:\n    web: 10s\n    \"db*\": 1m\n");
  auto c = load({"-config-file=" + f});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->dns_domain, "cairn");
  EXPECT_EQ(c->dns_node_ttl_ns, 30'000'000'000);
  EXPECT_EQ(c->dns_udp_answer_limit, 5);
  EXPECT_TRUE(c->dns_only_passing && c->dns_enable_truncate);
  EXPECT_EQ(c->dns_service_ttl_ns.at("db*"), 60'000'000'000);
  std::string bad = write("bad.yaml", "dns_config:\n  service_ttl: [1]\n");
  auto b = load({"-config-file=" + bad});
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find("dns_config.service_ttl"), std::string::npos)
      << b.status().message();
}

TEST_F(ConfigTest, YamlFile) {
  std::string f = write("a.yaml",
                        "server: true\nbootstrap: true\nports:\n  http: 9500\nretry_join:\n"
                        "  - r1\nsession_ttl_min: 15s\n");
  auto c = load({"-config-file=" + f});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->server && c->bootstrap);
  EXPECT_EQ(c->http_port, 9500);
  EXPECT_EQ(c->retry_join, std::vector<std::string>{"r1"});
  EXPECT_EQ(c->session_ttl_min_ns, 15'000'000'000);
}

TEST_F(ConfigTest, LaterFilesThenFlagsWin) {
  std::string a = write("a.json", R"({"node_name": "a", "datacenter": "a", "retry_join": ["1"]})");
  std::string b = write("b.yml", "node_name: b\nretry_join: [\"2\"]\n");
  auto c = load({"-config-file", a, "-node", "flag", "-config-file", b, "-retry-join", "3"});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->node_name, "flag");
  EXPECT_EQ(c->datacenter, "a");
  EXPECT_EQ(c->retry_join, (std::vector<std::string>{"1", "2", "3"}));
  auto d = load({"-config-file", b, "-config-file", a});
  ASSERT_TRUE(d.isOk());
  EXPECT_EQ(d->node_name, "a");
}

// Consul's defaults: a client leaves on SIGTERM, a server does not; the key and the flag win.
TEST_F(ConfigTest, LeaveOnTerminateDefaultsByModeAndTheKeyOrFlagWins) {
  auto client = load({});
  ASSERT_TRUE(client.isOk()) << client.status().message();
  EXPECT_TRUE(client->leave_on_terminate);
  auto server = load({"-server"});
  ASSERT_TRUE(server.isOk());
  EXPECT_FALSE(server->leave_on_terminate);
  auto dev = loadAgentConfig({"-dev"});
  ASSERT_TRUE(dev.isOk());
  EXPECT_FALSE(dev->leave_on_terminate);
  std::string off = write("off.json", R"({"leave_on_terminate": false})");
  auto kept = load({"-config-file", off});
  ASSERT_TRUE(kept.isOk());
  EXPECT_FALSE(kept->leave_on_terminate);
  std::string on = write("on.yml", "leave_on_terminate: true\nserver: true\n");
  auto leaving_server = load({"-config-file", on});
  ASSERT_TRUE(leaving_server.isOk());
  EXPECT_TRUE(leaving_server->leave_on_terminate);
  auto flag = load({"-config-file", on, "-leave-on-terminate=false"});
  ASSERT_TRUE(flag.isOk());
  EXPECT_FALSE(flag->leave_on_terminate);
  auto flag_on = load({"-server", "-leave-on-terminate"});
  ASSERT_TRUE(flag_on.isOk());
  EXPECT_TRUE(flag_on->leave_on_terminate);
}

TEST_F(ConfigTest, ConfigDirIsReadInLexicalOrder) {
  write("conf/20-b.yaml", "node_name: twenty\n");
  write("conf/10-a.json", R"({"node_name": "ten", "datacenter": "ten"})");
  write("conf/30-c.yml", "datacenter: thirty\n");
  write("conf/notes.txt", "ignored: true\n");
  write("conf/sub/99.json", R"({"bogus": 1})");
  auto c = load({"-config-dir", (dir_ / "conf").string()});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->node_name, "twenty");
  EXPECT_EQ(c->datacenter, "thirty");
}

TEST_F(ConfigTest, HclFilesAreReadLikeJson) {
  std::string f = write("a.hcl", R"(
server = true
node_name = "hcl-node"
ports { http = 8600 }
node_meta { rack = "r1" }
retry_join = ["10.0.0.1", "10.0.0.2"]
)");
  auto c = load({"-config-file", f});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_TRUE(c->server);
  EXPECT_EQ(c->node_name, "hcl-node");
  EXPECT_EQ(c->http_port, 8600);
  EXPECT_EQ(c->node_meta.at("rack"), "r1");
  EXPECT_EQ(c->retry_join, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
  write("d/10-a.hcl", "node_name = \"from-dir\"\n");
  write("d/20-b.json", R"({"datacenter": "dir-dc"})");
  auto d = load({"-config-dir", (dir_ / "d").string()});
  ASSERT_TRUE(d.isOk()) << d.status().message();
  EXPECT_EQ(d->node_name, "from-dir");
  EXPECT_EQ(d->datacenter, "dir-dc");
  EXPECT_NE(error({"-config-file", write("a.toml", "")}).find("unknown format"), std::string::npos);
}

TEST_F(ConfigTest, HclServiceBlocksBecomeDefinitions) {
  std::string f = write("services.hcl", R"(
service {
  name = "web"
  port = 80
  tags = ["v1"]
  check {
    id = "web-http"
    http = "http://127.0.0.1/health"
    interval = "10s"
  }
}
service {
  name = "db"
  checks {
    tcp = "127.0.0.1:5432"
    interval = "5s"
  }
}
check {
  name = "disk"
  ttl = "30s"
}
)");
  auto c = load({"-config-file", f});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  ASSERT_EQ(c->services.size(), 2u);
  EXPECT_NE(c->services[0].json.find(R"("name":"web")"), std::string::npos) << c->services[0].json;
  EXPECT_NE(c->services[0].json.find(R"("check":{"id":"web-http")"), std::string::npos)
      << c->services[0].json;
  EXPECT_NE(c->services[1].json.find(R"("checks":[{"tcp":)"), std::string::npos)
      << c->services[1].json;
  EXPECT_EQ(c->services[1].pos.line, 12);
  ASSERT_EQ(c->checks.size(), 1u);
  EXPECT_NE(c->checks[0].json.find(R"("ttl":"30s")"), std::string::npos) << c->checks[0].json;
}

TEST_F(ConfigTest, HclErrorsNameFileLineAndColumn) {
  std::string f = write("bad.hcl", "server = true\nports {\n  http = \n}\n");
  std::string msg = error({"-config-file", f});
  EXPECT_EQ(msg.rfind("config file " + f + ":4:1: ", 0), 0u) << msg;
  std::string g = write("unknown.hcl", "server = true\n  bogus_key = 1\n");
  msg = error({"-config-file", g});
  EXPECT_NE(msg.find(g + ":2:15: unknown key \"bogus_key\""), std::string::npos) << msg;
}

TEST_F(ConfigTest, UnknownKeysNameKeyAndFile) {
  std::string f = write("u.json", R"({"server": true, "bogus_key": 1})");
  const std::string kNotConsul = "\" (not a Consul agent configuration key)";
  EXPECT_EQ(error({"-config-file", f}),
            "config file " + f + ":1:31: unknown key \"bogus_key" + kNotConsul);
  std::string g = write("u.yaml", "ports:\n  htp: 1\n");
  EXPECT_EQ(error({"-config-file", g}),
            "config file " + g + ":2:8: unknown key \"ports.htp" + kNotConsul);
  std::string h = write("u2.yaml", "limits:\n  nope: 1\n");
  EXPECT_EQ(error({"-config-file", h}),
            "config file " + h + ":2:9: unknown key \"limits.nope" + kNotConsul);
}

TEST_F(ConfigTest, BadValuesNameKeyAndFile) {
  auto msg = [&](const std::string& name, const std::string& text) {
    return error({"-config-file", write(name, text)});
  };
  EXPECT_NE(msg("a.json", R"({"ports": {"http": "x"}})")
                .find("key \"ports.http\": expected an "
                      "integer, got \"x\""),
            std::string::npos);
  EXPECT_NE(msg("b.json", R"({"server": "maybe"})").find("key \"server\": expected true or false"),
            std::string::npos);
  EXPECT_NE(msg("c.json", R"({"retry_join": "a"})").find("key \"retry_join\": expected a list"),
            std::string::npos);
  EXPECT_NE(msg("d.json", R"({"session_ttl_min": "10"})").find("key \"session_ttl_min\""),
            std::string::npos);
  EXPECT_NE(msg("e.json", R"({"ports": 1})").find("key \"ports\": expected a map"),
            std::string::npos);
  EXPECT_NE(msg("f.json", R"({"limits": {"kv_max_value_size": -1}})").find("non-negative"),
            std::string::npos);
  EXPECT_NE(msg("g.json", R"({"datacenter": ["x"]})").find("key \"datacenter\": expected a string"),
            std::string::npos);
  EXPECT_NE(msg("h.json", "[1, 2]").find("expected a map of config keys"), std::string::npos);
  EXPECT_NE(msg("i.json", "{\"server\": ").find("i.json:1:12: unexpected end of file"),
            std::string::npos);
  std::string missing = (dir_ / "missing.json").string();
  EXPECT_EQ(error({"-config-file", missing}),
            "config file " + missing + ": No such file or directory");
  EXPECT_NE(error({"-config-dir", (dir_ / "nodir").string()}).find("config dir"),
            std::string::npos);
}

TEST_F(ConfigTest, EmptyFileSetsNothing) {
  auto c = load({"-config-file", write("empty.yaml", "")});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->http_port, 8500);
}

TEST_F(ConfigTest, FailedFileLeavesNoPartialState) {
  AgentConfig c;
  EXPECT_FALSE(applyConfigText(R"({"node_name": "half", "bogus": 1})", "t", c).isOk());
  EXPECT_TRUE(c.node_name.empty());
}

TEST_F(ConfigTest, PortValidation) {
  EXPECT_EQ(error({"-http-port", "0"}),
            "ports.http (-http-port) must be in 1..65535 or -1 to disable, got 0");
  EXPECT_EQ(error({"-http-port", "-2"}),
            "ports.http (-http-port) must be in 1..65535 or -1 to disable, got -2");
  EXPECT_EQ(error({"-https-port", "8501"}),
            "ports.https is set but there is no certificate: set tls.defaults.cert_file and "
            "key_file (or tls.https.*)");
  EXPECT_EQ(error({"-server-port", "65536"}),
            "ports.server (-server-port) must be in 1..65535, got 65536");
  EXPECT_EQ(error({"-grpc-port", "0"}), "ports.grpc (-grpc-port) must be in 1..65535, got 0");
  EXPECT_EQ(error({"-dns-port", "-2"}),
            "ports.dns (-dns-port) must be in 1..65535 or -1 to disable, got -2");
  EXPECT_EQ(error({"-dns-port", "-1", "-http-port", "65535"}), "<ok>");
}

TEST_F(ConfigTest, BootstrapValidation) {
  EXPECT_EQ(error({"-server", "-bootstrap-expect", "-1"}),
            "bootstrap_expect (-bootstrap-expect) must be >= 0, got -1");
  EXPECT_EQ(error({"-server", "-bootstrap", "-bootstrap-expect", "3"}),
            "bootstrap (-bootstrap) and bootstrap_expect (-bootstrap-expect) are mutually "
            "exclusive");
  EXPECT_EQ(error({"-dev", "-bootstrap-expect", "3"}),
            "-dev cannot be combined with bootstrap_expect (-bootstrap-expect)");
  EXPECT_NE(error({"-bootstrap"}).find("requires server mode"), std::string::npos);
  EXPECT_NE(error({"-bootstrap-expect=3"}).find("requires server mode"), std::string::npos);
  EXPECT_EQ(error({"-server", "-bootstrap-expect=3"}), "<ok>");
}

TEST_F(ConfigTest, NameAndLevelValidation) {
  EXPECT_EQ(error({"-datacenter", "dc 1"}),
            "datacenter \"dc 1\" is invalid: use only [A-Za-z0-9_-] (it is lowercased)");
  EXPECT_NE(error({"-datacenter", ""}).find("is invalid"), std::string::npos);
  EXPECT_NE(error({"-datacenter", "dc.1"}).find("is invalid"), std::string::npos);
  EXPECT_EQ(error({"-log-level", "loud"}),
            "log_level (-log-level) \"loud\" is invalid: use trace, debug, info, warn, err or "
            "error");
  for (const char* level : {"trace", "debug", "info", "warn", "err", "error", "WARN"}) {
    EXPECT_EQ(error({"-log-level", level}), "<ok>") << level;
  }
  EXPECT_EQ(loadAgentConfig({}).status().message(),
            "data_dir (-data-dir) is required unless -dev is set");
}

TEST_F(ConfigTest, FlagErrors) {
  EXPECT_EQ(error({"-x"}), "flag provided but not defined: -x");
  EXPECT_EQ(error({"-http-port", "abc"}), "invalid value \"abc\" for flag -http-port: parse error");
  EXPECT_EQ(error({"-node"}), "flag needs an argument: -node");
  EXPECT_EQ(error({"extra"}), "unexpected argument: \"extra\" (cairn agent takes only flags)");
}

TEST_F(ConfigTest, HelpIsReported) {
  bool help = false;
  EXPECT_FALSE(loadAgentConfig({"-dev", "-h"}, &help).isOk());
  EXPECT_TRUE(help);
  EXPECT_NE(agentFlagsUsage().find("-bootstrap-expect=<int>"), std::string::npos);
}

TEST_F(ConfigTest, UiIsOnByDefaultAndTheFlagTurnsItOff) {
  auto on = load({"-server", "-bootstrap"});
  ASSERT_TRUE(on.isOk()) << on.status().message();
  EXPECT_TRUE(on->ui_enabled);
  auto off = load({"-dev", "-ui=false"});
  ASSERT_TRUE(off.isOk()) << off.status().message();
  EXPECT_FALSE(off->ui_enabled);
  std::string block = write("ui.json", R"({"ui_config": {"enabled": false}})");
  auto from_block = load({"-dev", "-config-file=" + block});
  ASSERT_TRUE(from_block.isOk()) << from_block.status().message();
  EXPECT_FALSE(from_block->ui_enabled);
  std::string legacy = write("legacy.json", R"({"ui": false})");
  auto from_legacy = load({"-dev", "-config-file=" + legacy});
  ASSERT_TRUE(from_legacy.isOk()) << from_legacy.status().message();
  EXPECT_FALSE(from_legacy->ui_enabled);
  std::string bad = write("bad-ui.json", R"({"ui_config": {"enabled": "maybe"}})");
  auto b = load({"-dev", "-config-file=" + bad});
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find("ui_config.enabled"), std::string::npos)
      << b.status().message();
}

TEST_F(ConfigTest, KnownButUnimplementedKeysAreGatheredForOneWarning) {
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
            "config: ignoring keys Cairn does not implement: primary_datacenter, "
            "telemetry.statsite_address (file consul.json); encrypt, recursors (file more.yaml)");
  EXPECT_EQ(ignoredKeysWarning(AgentConfig{}), "");
}

TEST_F(ConfigTest, UnknownKeysAreErrorsWithFileLineAndColumn) {
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

TEST_F(ConfigTest, ServiceAndCheckDefinitionsAreKeptAsJson) {
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

TEST_F(ConfigTest, StartJoinAddsToRetryJoin) {
  AgentConfig c;
  ASSERT_TRUE(
      applyConfigFile(write("j.json", R"({"retry_join": ["a"], "start_join": ["b"]})"), c).isOk());
  EXPECT_EQ(c.retry_join, (std::vector<std::string>{"a", "b"}));
}

TEST_F(ConfigTest, AclBlock) {
  auto off = load({"-dev"});
  ASSERT_TRUE(off.isOk()) << off.status().message();
  EXPECT_FALSE(off->acl_enabled);
  EXPECT_EQ(off->acl_default_policy, "allow");
  std::string file = write("acl.json", R"({"acl": {"enabled": true, "default_policy": "deny",
      "down_policy": "async-cache", "enable_token_persistence": true,
      "tokens": {"initial_management": "m-secret", "agent": "a-secret", "default": "d-secret"}}})");
  auto on = load({"-dev", "-config-file=" + file});
  ASSERT_TRUE(on.isOk()) << on.status().message();
  EXPECT_TRUE(on->acl_enabled);
  EXPECT_EQ(on->acl_default_policy, "deny");
  EXPECT_EQ(on->acl_down_policy, "async-cache");
  EXPECT_TRUE(on->acl_enable_token_persistence);
  EXPECT_EQ(on->acl_initial_management, "m-secret");
  EXPECT_EQ(on->acl_agent_token, "a-secret");
  EXPECT_EQ(on->acl_default_token, "d-secret");
  EXPECT_EQ(ignoredKeysWarning(*on), "");
  std::string legacy = write("master.yaml", "acl:\n  tokens:\n    master: old-name\n");
  auto from_legacy = load({"-dev", "-config-file=" + legacy});
  ASSERT_TRUE(from_legacy.isOk()) << from_legacy.status().message();
  EXPECT_EQ(from_legacy->acl_initial_management, "old-name");
  std::string bad = write("bad-acl.json", R"({"acl": {"default_policy": "maybe"}})");
  auto b = load({"-dev", "-config-file=" + bad});
  ASSERT_FALSE(b.isOk());
  EXPECT_NE(b.status().message().find("expected one of \"allow\", \"deny\", got \"maybe\""),
            std::string::npos)
      << b.status().message();
}

TEST_F(ConfigTest, TlsBlockResolvesPerInterface) {
  std::string file = write("tls.json", R"({"tls": {
      "defaults": {"ca_file": "/ca.pem", "cert_file": "/d.pem", "key_file": "/d-key.pem",
                   "verify_incoming": true, "verify_outgoing": true},
      "internal_rpc": {"verify_server_hostname": true},
      "https": {"cert_file": "/h.pem", "key_file": "/h-key.pem", "verify_incoming": false,
                "tls_min_version": "TLSv1_3"}},
    "ports": {"https": 8501, "http": -1}, "addresses": {"https": "127.0.0.9"}})");
  auto c = load({"-config-file=" + file});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  EXPECT_EQ(c->https_port, 8501);
  EXPECT_EQ(c->http_port, -1);
  EXPECT_EQ(c->https_addr, "127.0.0.9");
  tls::TlsSettings rpc = tlsSettings(*c, "internal_rpc");
  EXPECT_EQ(rpc.ca_file, "/ca.pem");
  EXPECT_EQ(rpc.cert_file, "/d.pem");
  EXPECT_EQ(rpc.cert_file_key, "tls.defaults.cert_file");
  EXPECT_TRUE(rpc.verify_incoming);
  EXPECT_TRUE(rpc.verify_server_hostname);
  EXPECT_EQ(rpc.min_version, "TLSv1_2");
  tls::TlsSettings https = tlsSettings(*c, "https");
  EXPECT_EQ(https.cert_file, "/h.pem");
  EXPECT_EQ(https.cert_file_key, "tls.https.cert_file");
  EXPECT_FALSE(https.verify_incoming);
  EXPECT_EQ(https.min_version, "TLSv1_3");
  EXPECT_EQ(ignoredKeysWarning(*c), "");
}

TEST_F(ConfigTest, LegacyTlsKeysSetTheDefaults) {
  std::string file = write("legacy.yaml",
                           "ca_file: /ca.pem\ncert_file: /c.pem\nkey_file: /k.pem\n"
                           "verify_incoming_rpc: true\nverify_server_hostname: true\n");
  auto c = load({"-config-file=" + file});
  ASSERT_TRUE(c.isOk()) << c.status().message();
  tls::TlsSettings rpc = tlsSettings(*c, "internal_rpc");
  EXPECT_EQ(rpc.ca_file, "/ca.pem");
  EXPECT_EQ(rpc.ca_file_key, "ca_file");
  EXPECT_TRUE(rpc.verify_incoming);
  EXPECT_TRUE(rpc.verify_server_hostname);
  EXPECT_FALSE(tlsSettings(*c, "https").verify_incoming);
}

TEST_F(ConfigTest, TlsKeysThatOnlyWorkTogether) {
  auto err = [&](const std::string& json) {
    return error({"-config-file=" + write("t.json", json)});
  };
  EXPECT_EQ(err(R"({"tls": {"defaults": {"cert_file": "/c.pem"}}})"),
            "tls.defaults.cert_file is set but no key_file: give both");
  EXPECT_EQ(err(R"({"tls": {"https": {"cert_file": "/c.pem", "key_file": "/k.pem",
                "verify_incoming": true}}})"),
            "tls.https.verify_incoming needs ca_file (to check clients) and cert_file");
  EXPECT_EQ(err(R"({"verify_outgoing": true})"),
            "tls.https.verify_outgoing needs ca_file (the CA that signed the servers' "
            "certificates)");
  EXPECT_NE(err(R"({"tls": {"defaults": {"tls_min_version": "SSLv3"}}})")
                .find("expected one of \"TLSv1_0\""),
            std::string::npos);
  EXPECT_NE(
      err(R"({"tls": {"defaults": {"verify_incoming": "maybe"}}})").find("expected true or false"),
      std::string::npos);
}

}  // namespace
}  // namespace cairn::config
