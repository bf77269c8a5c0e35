#include "agent/cli/cli_common.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

namespace cairn::cli {
namespace {

using namespace cairn::client;  // the address and escaping helpers under test

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end() || it->second.empty()) return std::nullopt;
    return it->second;
  };
}

TEST(HttpAddr, FlagThenCairnEnvThenConsulEnvThenDefault) {
  auto env = fakeEnv({{"CAIRN_HTTP_ADDR", "10.0.0.1:1"}, {"CONSUL_HTTP_ADDR", "10.0.0.2:2"}});
  EXPECT_EQ(*resolveHttpAddr("127.0.0.9:9", env), "http://127.0.0.9:9");
  EXPECT_EQ(*resolveHttpAddr("", env), "http://10.0.0.1:1");
  EXPECT_EQ(*resolveHttpAddr("", fakeEnv({{"CONSUL_HTTP_ADDR", "10.0.0.2:2"}})),
            "http://10.0.0.2:2");
  EXPECT_EQ(*resolveHttpAddr("", fakeEnv({{"CAIRN_HTTP_ADDR", ""}})), "http://127.0.0.1:8500");
  EXPECT_EQ(*resolveHttpAddr("", fakeEnv({})), "http://127.0.0.1:8500");
}

TEST(HttpAddr, SchemesAndShapes) {
  auto env = fakeEnv({});
  EXPECT_EQ(*resolveHttpAddr("http://h:1", env), "http://h:1");
  EXPECT_EQ(*resolveHttpAddr("https://h:1/", env), "https://h:1");
  EXPECT_EQ(*resolveHttpAddr("localhost:8500", env), "http://localhost:8500");
  EXPECT_EQ(*resolveHttpAddr("[::1]:8500", env), "http://[::1]:8500");
  EXPECT_NE(resolveHttpAddr("unix:///tmp/sock", env).status().message().find("not supported"),
            std::string::npos);
  EXPECT_FALSE(resolveHttpAddr("http://", env).isOk());
  EXPECT_FALSE(resolveHttpAddr(":8500", env).isOk());
  EXPECT_FALSE(resolveHttpAddr("h:1/path", env).isOk());
}

TEST(HttpAddr, ConsulHttpSslMakesHostPortHttps) {
  EXPECT_EQ(*resolveHttpAddr("h:1", fakeEnv({{"CONSUL_HTTP_SSL", "true"}})), "https://h:1");
  EXPECT_EQ(*resolveHttpAddr("h:1", fakeEnv({{"CAIRN_HTTP_SSL", "1"}})), "https://h:1");
  EXPECT_EQ(*resolveHttpAddr("http://h:1", fakeEnv({{"CONSUL_HTTP_SSL", "true"}})), "http://h:1");
  EXPECT_EQ(*resolveHttpAddr("h:1", fakeEnv({{"CONSUL_HTTP_SSL", "false"}})), "http://h:1");
}

TEST(ClientTls, FlagThenCairnEnvThenConsulEnv) {
  std::string file = "/tmp/cairn-cli-tls-" + std::to_string(::getpid());
  std::ofstream(file) << "pem";
  HttpOptions o;
  auto env = fakeEnv({{"CAIRN_CACERT", file},
                      {"CONSUL_CACERT", "/nope"},
                      {"CONSUL_CLIENT_CERT", file},
                      {"CONSUL_CLIENT_KEY", file},
                      {"CONSUL_HTTP_SSL_VERIFY", "false"}});
  auto tls = resolveClientTls(o, env);
  ASSERT_TRUE(tls.isOk()) << tls.status().message();
  EXPECT_EQ(tls->ca_file, file);
  EXPECT_EQ(tls->client_cert, file);
  EXPECT_FALSE(tls->verify);
  o.ca_file = "/does/not/exist.pem";
  EXPECT_EQ(resolveClientTls(o, env).status().message(),
            "cannot read /does/not/exist.pem: No such file or directory");
  HttpOptions half;
  half.client_cert = file;
  EXPECT_NE(resolveClientTls(half, fakeEnv({})).status().message().find("needs its key"),
            std::string::npos);
  std::remove(file.c_str());
}

TEST(Token, FlagThenEnv) {
  EXPECT_EQ(resolveToken("f", fakeEnv({{"CONSUL_HTTP_TOKEN", "c"}})), "f");
  EXPECT_EQ(resolveToken("", fakeEnv({{"CONSUL_HTTP_TOKEN", "c"}})), "c");
  EXPECT_EQ(resolveToken("", fakeEnv({{"CAIRN_HTTP_TOKEN", "k"}, {"CONSUL_HTTP_TOKEN", "c"}})),
            "k");
  EXPECT_EQ(resolveToken("", fakeEnv({})), "");
}

TEST(Escape, PathKeepsSlashOnly) {
  EXPECT_EQ(escapePath("a/b c?d%e#f+g&h=i"), "a/b%20c%3Fd%25e%23f%2Bg%26h%3Di");
  EXPECT_EQ(escapePath("x-y_z.~09AZ"), "x-y_z.~09AZ");
  EXPECT_EQ(escapePath(std::string("\n\xff", 2)), "%0A%FF");
  EXPECT_EQ(escapeQueryValue("a/b c"), "a%2Fb%20c");
}

TEST(DataSource, LiteralFileStdinAndDashPrefixed) {
  std::istringstream in("from stdin");
  EXPECT_EQ(*loadDataSource("", in), "");
  EXPECT_EQ(*loadDataSource("text", in), "text");
  EXPECT_EQ(*loadDataSource("-foo", in), "-foo");
  EXPECT_EQ(*loadDataSource("-", in), "from stdin");
  std::string path = "/tmp/cairn-data-source-" + std::to_string(getpid());
  std::ofstream(path, std::ios::binary) << std::string("a\0b", 3);
  EXPECT_EQ(*loadDataSource("@" + path, in), std::string("a\0b", 3));
  std::remove(path.c_str());
  auto missing = loadDataSource("@/nonexistent/x", in);
  EXPECT_EQ(missing.status().message(),
            "Failed to read file: open /nonexistent/x: No such file or directory");
}

TEST(ApiClient, UnreachableAgentIsAnError) {
  HttpOptions options;
  options.http_addr = "127.0.0.1:1";
  auto client = ApiClient::create(options, fakeEnv({}));
  ASSERT_TRUE(client.isOk());
  auto response = client->send("GET", "/v1/kv/a b", {{"recurse", ""}});
  ASSERT_FALSE(response.isOk());
  EXPECT_EQ(
      response.status().message().rfind("Get \"http://127.0.0.1:1/v1/kv/a%20b?recurse=\": ", 0), 0u)
      << response.status().message();
}

}  // namespace
}  // namespace cairn::cli
