// The tables of `cairn operator raft list-peers` and `cairn members`, and the operator/snapshot
// commands' argument checks (which fail before any request).
#include "agent/cli/operator_format.h"

#include <gtest/gtest.h>

#include <sstream>

#include "agent/cli/commands.h"

namespace cairn::cli {
namespace {

TEST(Columnize, AlignsEveryColumnButTheLast) {
  EXPECT_EQ(columnize({{"a", "bb", "c"}, {"dddd", "e", "ffffff"}, {" g ", "", "h"}}),
            "a     bb  c\n"
            "dddd  e   ffffff\n"
            "g         h");
  EXPECT_EQ(columnize({{"ü", "x"}, {"ab", "y"}}), "ü   x\nab  y") << "widths count runes";
  EXPECT_EQ(columnize({}), "");
}

TEST(ListPeers, ConsulsTable) {
  auto peers = parseRaftConfiguration(
      R"({"Servers":[{"ID":"a1","Node":"n1","Address":"10.0.0.1:8300","Leader":true,)"
      R"("ProtocolVersion":"3","Voter":true,"LastIndex":100},)"
      R"({"ID":"b2","Node":"node-two","Address":"10.0.0.2:8300","Leader":false,)"
      R"("ProtocolVersion":"3","Voter":true,"LastIndex":99},)"
      R"({"ID":"c3","Node":"n3","Address":"10.0.0.3:8300","Leader":false,)"
      R"("ProtocolVersion":"","Voter":false,"LastIndex":90}],"Index":5})");
  ASSERT_TRUE(peers.isOk()) << peers.status().message();
  EXPECT_EQ(formatPeerTable(*peers),
            "Node      ID  Address        State     Voter  RaftProtocol  Commit Index  "
            "Trails Leader By\n"
            "n1        a1  10.0.0.1:8300  leader    true   3             100           -\n"
            "node-two  b2  10.0.0.2:8300  follower  true   3             99            1 commit\n"
            "n3        c3  10.0.0.3:8300  follower  false  <=1           90            10 commits");
  EXPECT_FALSE(parseRaftConfiguration("{}").isOk());
  EXPECT_FALSE(parseRaftConfiguration("nope").isOk());
}

TEST(Members, ConsulsTableServersFirst) {
  auto members =
      parseAgentMembers(R"([{"Name":"client-1","Addr":"10.0.0.9","Port":8301,"Status":1,)"
                        R"("Tags":{"role":"node","dc":"dc1","build":"1.17.0:abcdef","vsn":"2"}},)"
                        R"({"Name":"server-b","Addr":"10.0.0.2","Port":8301,"Status":4,)"
                        R"("Tags":{"role":"consul","dc":"dc1","build":"1.17.0","vsn":"2"}},)"
                        R"({"Name":"server-a","Addr":"::1","Port":8301,"Status":1,)"
                        R"("Tags":{"role":"consul","dc":"dc1","build":"1.17.0","vsn":"2"}}])");
  ASSERT_TRUE(members.isOk()) << members.status().message();
  EXPECT_EQ(formatMemberTable(*members, false),
            "Node      Address        Status  Type    Build   Protocol  DC   Partition  Segment\n"
            "server-a  [::1]:8301     alive   server  1.17.0  2         dc1  default    <all>\n"
            "server-b  10.0.0.2:8301  failed  server  1.17.0  2         dc1  default    <all>\n"
            "client-1  10.0.0.9:8301  alive   client  1.17.0  2         dc1  default    <default>");
  std::string detailed = formatMemberTable(*members, true);
  EXPECT_EQ(detailed.substr(0, detailed.find('\n')), "Node      Address        Status  Tags");
  EXPECT_NE(detailed.find("ap=default,build=1.17.0,dc=dc1,role=consul,segment=<all>,vsn=2"),
            std::string::npos)
      << detailed;
}

struct CliResult {
  int code;
  std::string out, err;
};

CliResult run(std::vector<std::string> args) {
  std::istringstream in;
  std::ostringstream out, err;
  CliIo io{in, out, err, [](const std::string& name) -> std::optional<std::string> {
             if (name == "CAIRN_HTTP_ADDR") return std::string("127.0.0.1:1");
             return std::nullopt;
           }};
  int code = runCli(args, io, [](const config::AgentConfig&) { return 0; });
  return {code, out.str(), err.str()};
}

TEST(OperatorCli, ArgumentErrorsUseConsulsWording) {
  CliResult r = run({"operator", "raft", "remove-peer"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Error removing peer: an address or id is required for the peer to remove\n");
  r = run({"operator", "raft", "remove-peer", "-id=a", "-address=b"});
  EXPECT_EQ(r.err, "Error removing peer: cannot give both an address and id\n");
  r = run({"operator", "raft", "frob"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Unknown command: operator raft frob\n", 0), 0u);
  r = run({"operator", "raft", "-h"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("list-peers"), std::string::npos);
  r = run({"operator", "raft", "list-peers"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Error getting peers: Failed to retrieve raft configuration: ", 0), 0u)
      << r.err;
}

TEST(SnapshotCli, NeedsExactlyOneFile) {
  CliResult r = run({"snapshot", "save"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "Missing FILE argument\n");
  r = run({"snapshot", "restore", "a", "b"});
  EXPECT_EQ(r.err, "Too many arguments (expected 1, got 2)\n");
  r = run({"snapshot", "restore", "/nonexistent/cairn.snap"});
  EXPECT_EQ(
      r.err,
      "Error opening snapshot file: open /nonexistent/cairn.snap: No such file or directory\n");
  r = run({"snapshot", "save", "/tmp/never-written.snap"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Error saving snapshot: ", 0), 0u) << r.err;
}

TEST(MembersCli, BadStatusRegexp) {
  CliResult r = run({"members", "-status=("});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.rfind("Failed to compile status regexp: ", 0), 0u);
}

}  // namespace
}  // namespace cairn::cli
