#include "agent/cli/commands.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/version.h"

namespace cairn::cli {
namespace {

// Runs the CLI against string streams and an environment pointing at a closed port.
struct CliRun {
  int code = -1;
  std::string out, err;
  std::optional<config::AgentConfig> agent_config;
};

CliRun run(std::vector<std::string> args, std::string stdin_text = "") {
  std::istringstream in(stdin_text);
  std::ostringstream out, err;
  CliRun r;
  CliIo io{in, out, err, [](const std::string& name) -> std::optional<std::string> {
             if (name == "CAIRN_HTTP_ADDR") return std::string("127.0.0.1:1");
             return std::nullopt;
           }};
  r.code = runCli(args, io, [&r](const config::AgentConfig& c) {
    r.agent_config = c;
    return 7;
  });
  r.out = out.str();
  r.err = err.str();
  return r;
}

TEST(Cli, NoArgumentsPrintsCommandListAndFails) {
  CliRun r = run({});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Available commands are:"), std::string::npos);
  EXPECT_NE(r.err.find("    kv "), std::string::npos);
}

TEST(Cli, HelpPrintsCommandListAndSucceeds) {
  for (const char* h : {"-h", "--help", "-help", "help"}) {
    CliRun r = run({h});
    EXPECT_EQ(r.code, 0) << h;
    EXPECT_NE(r.out.find("Available commands are:"), std::string::npos) << h;
  }
}

TEST(Cli, UnknownCommand) {
  CliRun r = run({"frobnicate"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Unknown command: frobnicate\n", 0), 0u);
}

TEST(Cli, VersionLikeConsul) {
  std::string expected =
      std::string("Cairn v") + agent::kVersion + "\nRevision " + agent::kRevision + "\n";
  for (const char* v : {"version", "-v", "--version", "-version"}) {
    CliRun r = run({v});
    EXPECT_EQ(r.code, 0) << v;
    EXPECT_EQ(r.out, expected) << v;
  }
  EXPECT_EQ(run({"version", "extra"}).code, 1);
}

TEST(Cli, AgentGetsItsParsedConfig) {
  CliRun r = run({"agent", "-dev", "-http-port=9999", "-node", "n"});
  EXPECT_EQ(r.code, 7);
  ASSERT_TRUE(r.agent_config.has_value());
  EXPECT_EQ(r.agent_config->http_port, 9999);
  EXPECT_EQ(r.agent_config->node_name, "n");
  EXPECT_TRUE(r.agent_config->server);
}

TEST(Cli, AgentConfigErrorsDoNotStartTheAgent) {
  CliRun r = run({"agent", "-dev", "-x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_FALSE(r.agent_config.has_value());
  EXPECT_EQ(r.err.rfind("flag provided but not defined: -x\n", 0), 0u);
  CliRun h = run({"agent", "-h"});
  EXPECT_EQ(h.code, 0);
  EXPECT_FALSE(h.agent_config.has_value());
  EXPECT_NE(h.out.find("-bootstrap-expect=<int>"), std::string::npos);
}

TEST(Cli, KvWithoutSubcommand) {
  EXPECT_EQ(run({"kv"}).code, 1);
  EXPECT_EQ(run({"kv", "-h"}).code, 0);
  CliRun r = run({"kv", "bogus"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Unknown command: kv bogus\n", 0), 0u);
}

TEST(Cli, KvSubcommandHelpListsHttpFlags) {
  for (const char* sub : {"put", "get", "delete", "export", "import"}) {
    CliRun r = run({"kv", sub, "-h"});
    EXPECT_EQ(r.code, 0) << sub;
    EXPECT_NE(r.out.find("Usage: cairn kv " + std::string(sub)), std::string::npos) << sub;
    for (const char* flag : {"-http-addr=", "-token=", "-datacenter=", "-stale\n"}) {
      EXPECT_NE(r.out.find(flag), std::string::npos) << sub << " " << flag;
    }
  }
}

TEST(Cli, FlagErrorsPrintErrorAndHelp) {
  CliRun r = run({"kv", "get", "-nope", "x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("flag provided but not defined: -nope\nUsage: cairn kv get", 0), 0u);
  EXPECT_EQ(run({"kv", "put", "-flags=abc", "k"}).code, 1);
}

TEST(Cli, KvArgumentErrorsBeforeAnyRequest) {
  auto err = [](std::vector<std::string> args) {
    CliRun r = run(std::move(args));
    EXPECT_EQ(r.code, 1);
    EXPECT_EQ(r.out, "");
    return r.err;
  };
  EXPECT_EQ(err({"kv", "put"}), "Error! Missing KEY argument\n");
  EXPECT_EQ(err({"kv", "put", "a", "b", "c"}),
            "Error! Too many arguments (expected 1 or 2, got 3)\n");
  EXPECT_EQ(err({"kv", "put", "-acquire", "k"}),
            "Error! Missing -session (required with -acquire and -release)\n");
  EXPECT_EQ(err({"kv", "put", "-release", "k"}),
            "Error! Missing -session (required with -acquire and -release)\n");
  EXPECT_EQ(err({"kv", "put", "-base64", "k", "***"}),
            "Error! Cannot base 64 decode data: illegal base64 data at input byte 0\n");
  EXPECT_EQ(err({"kv", "put", "k", "@/nonexistent/f"}),
            "Error! Failed to read file: open /nonexistent/f: No such file or directory\n");
  EXPECT_EQ(err({"kv", "get"}), "Error! Missing KEY argument\n");
  EXPECT_EQ(err({"kv", "get", "/"}), "Error! Missing KEY argument\n");
  EXPECT_EQ(err({"kv", "get", "a", "b"}), "Too many arguments (expected 1, got 2)\n");
  EXPECT_EQ(err({"kv", "delete"}), "Error! Missing KEY argument\n");
  EXPECT_EQ(err({"kv", "delete", "-cas", "k"}),
            "Cannot delete a key that does not exist. Provide a -modify-index greater than 0.\n");
  EXPECT_EQ(err({"kv", "delete", "-modify-index=3", "k"}),
            "Cannot specify -modify-index without -cas!\n");
  EXPECT_EQ(err({"kv", "delete", "-recurse", "-cas", "-modify-index=3", "k"}),
            "Cannot specify both -cas and -recurse!\n");
  EXPECT_EQ(err({"kv", "export", "a", "b"}), "Too many arguments (expected 1, got 2)\n");
  EXPECT_EQ(err({"kv", "import"}), "Error! Missing DATA argument\n");
  EXPECT_EQ(err({"kv", "import", ""}), "Error! Empty DATA argument\n");
  EXPECT_EQ(err({"kv", "import", "a", "b"}), "Error! Too many arguments (expected 1, got 2)\n");
  EXPECT_EQ(err({"kv", "import", "-", "x"}), "Error! Too many arguments (expected 1, got 2)\n");
  EXPECT_EQ(err({"kv", "get", "-http-addr=unix:///s", "k"}).rfind("Error connecting to", 0), 0u);
}

TEST(Cli, ImportRejectsBadJsonBeforeWriting) {
  CliRun r = run({"kv", "import", "-"}, "not json");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Cannot unmarshal data: ", 0), 0u);
  CliRun b = run({"kv", "import", R"([{"key":"k","value":"***"}])"});
  EXPECT_EQ(b.code, 1);
  EXPECT_EQ(b.err, "Error base 64 decoding value for key k: illegal base64 data at input byte 0\n");
  CliRun empty = run({"kv", "import", "[]"});
  EXPECT_EQ(empty.code, 0);
  EXPECT_EQ(empty.out, "");
}

TEST(Cli, UnreachableAgentIsAClearError) {
  struct Case {
    std::vector<std::string> args;
    const char* prefix;
  };
  for (const Case& c : {Case{{"kv", "get", "k"}, "Error querying Cairn agent: Get \""},
                        Case{{"kv", "put", "k", "v"}, "Error! Failed writing data: Put \""},
                        Case{{"kv", "put", "-cas", "k"}, "Error! Did not write to k: Put \""},
                        Case{{"kv", "delete", "k"}, "Error deleting key k: Delete \""},
                        Case{{"kv", "delete", "-recurse", "p"}, "Error! Did not delete prefix p: "},
                        Case{{"kv", "export"}, "Error querying Cairn agent: "},
                        Case{{"kv", "import", R"([{"key":"k","value":""}])"},
                             "Error! Failed writing data for key k: Put \""}}) {
    CliRun r = run(c.args);
    EXPECT_EQ(r.code, 1) << c.args[1];
    EXPECT_EQ(r.err.rfind(c.prefix, 0), 0u) << r.err;
  }
}

// `cairn tls` writes in the current directory: run it in a scratch one.
TEST(Cli, TlsCaAndCertCreateWriteConsulsFileNames) {
  namespace fs = std::filesystem;
  fs::path old = fs::current_path();
  fs::path dir = fs::temp_directory_path() / ("cairn-cli-tls-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  fs::current_path(dir);
  CliRun ca = run({"tls", "ca", "create"});
  EXPECT_EQ(ca.code, 0) << ca.err;
  EXPECT_EQ(ca.out, "==> Saved consul-agent-ca.pem\n==> Saved consul-agent-ca-key.pem\n");
  EXPECT_EQ(run({"tls", "ca", "create"}).err, "consul-agent-ca.pem already exists\n");
  CliRun s0 = run({"tls", "cert", "create", "-server", "-additional-ipaddress", "10.1.2.3"});
  EXPECT_EQ(s0.code, 0) << s0.err;
  EXPECT_NE(s0.out.find("==> Saved dc1-server-consul-0.pem\n==> Saved dc1-server-consul-0-key.pem"),
            std::string::npos)
      << s0.out;
  CliRun s1 = run({"tls", "cert", "create", "-server"});
  EXPECT_NE(s1.out.find("==> Saved dc1-server-consul-1.pem"), std::string::npos) << s1.out;
  CliRun c0 = run({"tls", "cert", "create", "-client", "-dc", "east"});
  EXPECT_NE(c0.out.find("==> Saved east-client-consul-0.pem"), std::string::npos) << c0.out;
  EXPECT_EQ(fs::status(dir / "east-client-consul-0-key.pem").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(run({"tls", "cert", "create"}).err,
            "Please provide exactly one of -server, -client or -cli\n");
  EXPECT_EQ(run({"tls", "cert", "create", "-server", "-additional-ipaddress", "x"}).err,
            "Error creating the certificate: not an IP address: \"x\"\n");
  EXPECT_EQ(run({"tls", "cert", "create", "-client", "-ca", "missing.pem"}).code, 1);
  fs::current_path(old);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cairn::cli
