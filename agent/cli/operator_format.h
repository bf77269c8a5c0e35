#pragma once
// What `cairn members` and `cairn operator raft` read and print: the Raft configuration and
// member JSON of Consul's API, and their tables exactly as `consul` prints them (ryanuber/
// columnize with Consul's settings).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/status.h"

namespace cairn::cli {

// columnize.Format as `consul` calls it (cells separated by 0x1f, the default glue "  "), given
// the cells: each is trimmed; every cell but a row's last is left-aligned to its column's widest
// cell (in runes) and followed by the glue. Rows end in '\n' except the last.
using Row = std::vector<std::string>;
std::string columnize(const std::vector<Row>& rows);

// One server of GET /v1/operator/raft/configuration.
struct RaftPeer {
  std::string id, node, address, protocol_version;
  bool leader = false;
  bool voter = false;
  uint64_t last_index = 0;
};
StatusOr<std::vector<RaftPeer>> parseRaftConfiguration(const std::string& json);
// `consul operator raft list-peers`: Node, ID, Address, State, Voter, RaftProtocol, Commit Index,
// Trails Leader By.
std::string formatPeerTable(const std::vector<RaftPeer>& peers);

// One agent as `consul members` shows it (GET /v1/agent/members, or assembled from the Raft
// configuration where that endpoint does not exist).
struct Member {
  std::string name;
  std::string address;                      // host:port
  std::string status;                       // serf's names: alive, leaving, left, failed, none
  std::map<std::string, std::string> tags;  // role (consul|node), dc, build, vsn, segment, ...
};
// GET /v1/agent/members: [{"Name","Addr","Port","Tags":{...},"Status":<serf status number>}].
StatusOr<std::vector<Member>> parseAgentMembers(const std::string& json);
// Consul's ordering (servers first, then by segment and name) and table; `detailed` prints
// Node, Address, Status, Tags instead. Fills the partition/segment tags as `consul` does.
std::string formatMemberTable(std::vector<Member> members, bool detailed);

}  // namespace cairn::cli
