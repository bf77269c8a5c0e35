#include "agent/config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "agent/flags.h"

namespace cairn::agent {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cairn-config-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    auto path = dir_ / name;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  fs::path dir_;
};

TEST(FlagSet, GoSyntaxVariants) {
  FlagSet f;
  bool dev = false;
  int port = 0;
  std::string name;
  std::vector<std::string> joins;
  f.boolFlag("dev", &dev);
  f.intFlag("port", &port);
  f.stringFlag("node", &name);
  f.listFlag("join", &joins);
  auto rest = f.parse({"-dev", "--port=12", "-node", "n1", "-join", "a", "--join", "b", "pos", "-x"});
  ASSERT_TRUE(rest.isOk()) << rest.status().toString();
  EXPECT_TRUE(dev);
  EXPECT_EQ(port, 12);
  EXPECT_EQ(name, "n1");
  EXPECT_EQ(joins, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(*rest, (std::vector<std::string>{"pos", "-x"})) << "parsing stops at the first non-flag";
  EXPECT_TRUE(f.wasSet("port"));
  ASSERT_TRUE(f.parse({"-dev=false"}).isOk());
  EXPECT_FALSE(dev);
}

TEST(FlagSet, ErrorsNameTheFlag) {
  FlagSet f;
  int port = 0;
  f.intFlag("port", &port);
  EXPECT_EQ(f.parse({"-nope"}).status().message(), "flag provided but not defined: -nope");
  EXPECT_EQ(f.parse({"-port"}).status().message(), "flag needs an argument: -port");
  EXPECT_NE(f.parse({"-port=abc"}).status().message().find("-port"), std::string::npos);
}

TEST_F(ConfigTest, DevDefaults) {
  auto c = loadAgentConfig({"-dev"});
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_TRUE(c->server && c->bootstrap);
  EXPECT_EQ(c->http_port, 8500);
  EXPECT_EQ(c->datacenter, "dc1");
  EXPECT_FALSE(c->node_name.empty());
  EXPECT_EQ(c->advertise_addr, "127.0.0.1");
}

TEST_F(ConfigTest, JsonAndYamlFilesWithConsulKeysFlagsWin) {
  auto json = write("a.json", R"({"datacenter":"East1","node_name":"n1","ports":{"http":9000,"dns":9600},
      "limits":{"kv_max_value_size":1024},"session_ttl_min":"5s","retry_join":["x"]})");
  auto yaml = write("b.yaml", "node_name: n2\nlog_level: debug\nretry_join: y\n");
  auto c = loadAgentConfig({"-config-file", json, "-config-file=" + yaml, "-http-port", "9100", "-dev"});
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->datacenter, "east1");
  EXPECT_EQ(c->node_name, "n2") << "later files override earlier ones";
  EXPECT_EQ(c->http_port, 9100) << "flags override files";
  EXPECT_EQ(c->dns_port, 9600);
  EXPECT_EQ(c->kv_max_value_size, 1024u);
  EXPECT_EQ(c->session_ttl_min_ns, 5'000'000'000);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->retry_join, (std::vector<std::string>{"x", "y"}));
}

TEST_F(ConfigTest, ConfigDirIsReadInLexicalOrder) {
  write("d/20.yml", "node_name: second\n");
  write("d/10.json", R"({"node_name":"first","datacenter":"dcx"})");
  write("d/ignored.txt", "garbage");
  auto c = loadAgentConfig({"-dev", "-config-dir", (dir_ / "d").string()});
  ASSERT_TRUE(c.isOk()) << c.status().toString();
  EXPECT_EQ(c->node_name, "second");
  EXPECT_EQ(c->datacenter, "dcx");
}

TEST_F(ConfigTest, BadConfigIsRejectedWithTheFileAndKey) {
  struct Case {
    std::string text, expect;
  };
  for (const auto& [text, expect] : std::vector<Case>{
           {R"({"bogus":1})", "unknown key \"bogus\""},
           {R"({"ports":{"http":"x"}})", "ports.http"},
           {R"({"ports":{"nope":1}})", "ports.nope"},
           {R"({"session_ttl_min":"10y"})", "session_ttl_min"},
           {"{", "a.json"},
           {"[1,2]", "top level"}}) {
    auto path = write("a.json", text);
    auto c = loadAgentConfig({"-dev", "-config-file", path});
    ASSERT_FALSE(c.isOk()) << text;
    EXPECT_NE(c.status().message().find(expect), std::string::npos) << c.status().message();
  }
  auto hcl = write("c.hcl", "x = 1");
  EXPECT_NE(loadAgentConfig({"-config-file", hcl}).status().message().find("HCL"), std::string::npos);
  EXPECT_FALSE(loadAgentConfig({"-config-file", (dir_ / "missing.json").string()}).isOk());
}

TEST_F(ConfigTest, Validation) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"-dev", "-http-port", "0"},
           {"-dev", "-http-port", "70000"},
           {"-dev", "-bootstrap-expect", "3"},
           {"-server", "-bootstrap", "-bootstrap-expect", "3"},
           {"-dev", "-datacenter", "bad dc"},
           {"-dev", "-log-level", "loud"},
           {"-dev", "stray"},
           {"-nope"}}) {
    EXPECT_FALSE(loadAgentConfig(args).isOk()) << args.back();
  }
  EXPECT_TRUE(loadAgentConfig({"-dev", "-dns-port", "-1"}).isOk());
}

}  // namespace
}  // namespace cairn::agent
