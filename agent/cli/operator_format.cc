#define _TURN_OFF_PLATFORM_STRING
#include "agent/cli/operator_format.h"

#include <cpprest/json.h>

#include <algorithm>

namespace cairn::cli {
namespace {

using JsonValue = web::json::value;

size_t runeCount(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

std::string trimSpace(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n\v\f");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n\v\f");
  return std::string(s.substr(b, e - b + 1));
}

StatusOr<JsonValue> parseJson(const std::string& text) {
  try {
    return JsonValue::parse(text);
  } catch (const std::exception& e) {
    return invalidArgument(e.what());
  }
}

std::string stringField(const JsonValue& obj, const char* name) {
  if (!obj.has_field(name) || !obj.at(name).is_string()) return "";
  return obj.at(name).as_string();
}

uint64_t uintField(const JsonValue& obj, const char* name) {
  if (!obj.has_field(name) || !obj.at(name).is_number()) return 0;
  const auto& n = obj.at(name).as_number();
  return n.is_uint64() ? n.to_uint64() : 0;
}

bool boolField(const JsonValue& obj, const char* name) {
  return obj.has_field(name) && obj.at(name).is_boolean() && obj.at(name).as_bool();
}

// serf.MemberStatus.String().
std::string serfStatus(uint64_t status) {
  static const char* kNames[] = {"none", "alive", "leaving", "left", "failed"};
  return status < 5 ? kNames[status] : "unknown";
}

// Go's net.TCPAddr.String(): IPv6 addresses in brackets.
std::string hostPort(const std::string& ip, uint64_t port) {
  std::string host = ip.find(':') != std::string::npos ? "[" + ip + "]" : ip;
  return host + ":" + std::to_string(port);
}

std::string tag(const Member& m, const std::string& name) {
  auto it = m.tags.find(name);
  return it == m.tags.end() ? "" : it->second;
}

bool isDefaultPartition(const std::string& p) { return p.empty() || p == "default"; }

// `consul members` sort: servers, default partition, segment, partition, name.
bool memberLess(const Member& a, const Member& b) {
  bool sa = tag(a, "role") == "consul", sb = tag(b, "role") == "consul";
  if (sa != sb) return sa;
  bool da = isDefaultPartition(tag(a, "ap")), db = isDefaultPartition(tag(b, "ap"));
  if (da != db) return da;
  if (tag(a, "segment") != tag(b, "segment")) return tag(a, "segment") < tag(b, "segment");
  if (tag(a, "ap") != tag(b, "ap")) return tag(a, "ap") < tag(b, "ap");
  return a.name < b.name;
}

Row standardRow(const Member& m) {
  std::string build = tag(m, "build");
  if (build.empty()) {
    build = "< 0.3";
  } else if (size_t colon = build.find(':'); colon != std::string::npos) {
    build.resize(colon);
  }
  std::string role = tag(m, "role");
  std::string type = role == "consul" ? "server" : role == "node" ? "client" : "unknown";
  if (type == "unknown") return {m.name, m.address, m.status, type, "", "", "", "", ""};
  return {m.name,       m.address,    m.status,         type, build, tag(m, "vsn"),
          tag(m, "dc"), tag(m, "ap"), tag(m, "segment")};
}

Row detailedRow(const Member& m) {
  std::string tags;
  for (const auto& [k, v] : m.tags) tags += (tags.empty() ? "" : ",") + k + "=" + v;
  return {m.name, m.address, m.status, tags};
}

}  // namespace

std::string columnize(const std::vector<Row>& rows) {
  std::vector<Row> cells;
  std::vector<size_t> widths;
  for (const Row& row : rows) {
    cells.emplace_back();
    for (size_t i = 0; i < row.size(); ++i) {
      cells.back().push_back(trimSpace(row[i]));
      size_t w = runeCount(cells.back()[i]);
      if (widths.size() <= i) widths.push_back(w);
      widths[i] = std::max(widths[i], w);
    }
  }
  std::string out;
  for (const Row& row : cells) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out.append(widths[i] - runeCount(row[i]) + 2, ' ');
    }
    out += '\n';
  }
  if (!out.empty()) out.pop_back();
  return out;
}

StatusOr<std::vector<RaftPeer>> parseRaftConfiguration(const std::string& json) {
  auto root = parseJson(json);
  if (!root.isOk())
    return invalidArgument("decoding the Raft configuration: " + root.status().message());
  if (!root->is_object() || !root->has_field("Servers") || !root->at("Servers").is_array()) {
    return invalidArgument("decoding the Raft configuration: no Servers array");
  }
  std::vector<RaftPeer> peers;
  for (const JsonValue& s : root->at("Servers").as_array()) {
    if (!s.is_object()) return invalidArgument("decoding the Raft configuration: bad server");
    peers.push_back(RaftPeer{stringField(s, "ID"), stringField(s, "Node"),
                             stringField(s, "Address"), stringField(s, "ProtocolVersion"),
                             boolField(s, "Leader"), boolField(s, "Voter"),
                             uintField(s, "LastIndex")});
  }
  return peers;
}

std::string formatPeerTable(const std::vector<RaftPeer>& peers) {
  uint64_t leader_index = 0;
  for (const auto& p : peers) {
    if (p.leader) leader_index = p.last_index;
  }
  std::vector<Row> rows = {{"Node", "ID", "Address", "State", "Voter", "RaftProtocol",
                            "Commit Index", "Trails Leader By"}};
  for (const auto& p : peers) {
    std::string trails = "-";
    if (!p.leader) {
      uint64_t behind = leader_index > p.last_index ? leader_index - p.last_index : 0;
      trails = std::to_string(behind) + (behind == 1 ? " commit" : " commits");
    }
    rows.push_back({p.node, p.id, p.address, p.leader ? "leader" : "follower",
                    p.voter ? "true" : "false",
                    p.protocol_version.empty() ? "<=1" : p.protocol_version,
                    std::to_string(p.last_index), trails});
  }
  return columnize(rows);
}

StatusOr<std::vector<Member>> parseAgentMembers(const std::string& json) {
  auto root = parseJson(json);
  if (!root.isOk()) return invalidArgument("decoding members: " + root.status().message());
  if (!root->is_array()) return invalidArgument("decoding members: expected an array");
  std::vector<Member> members;
  for (const JsonValue& m : root->as_array()) {
    if (!m.is_object()) return invalidArgument("decoding members: expected objects");
    Member member{stringField(m, "Name"),
                  hostPort(stringField(m, "Addr"), uintField(m, "Port")),
                  serfStatus(uintField(m, "Status")),
                  {}};
    if (m.has_field("Tags") && m.at("Tags").is_object()) {
      for (const auto& [k, v] : m.at("Tags").as_object()) {
        if (v.is_string()) member.tags[k] = v.as_string();
      }
    }
    members.push_back(std::move(member));
  }
  return members;
}

std::string formatMemberTable(std::vector<Member> members, bool detailed) {
  for (Member& m : members) {
    std::string& partition = m.tags["ap"];
    if (partition.empty()) partition = "default";
    std::string& segment = m.tags["segment"];
    if (tag(m, "role") == "consul") {
      segment = "<all>";
    } else if (segment.empty()) {
      segment = "<default>";
    }
  }
  std::sort(members.begin(), members.end(), memberLess);
  std::vector<Row> rows;
  if (detailed) {
    rows.push_back({"Node", "Address", "Status", "Tags"});
  } else {
    rows.push_back(
        {"Node", "Address", "Status", "Type", "Build", "Protocol", "DC", "Partition", "Segment"});
  }
  for (const Member& m : members) rows.push_back(detailed ? detailedRow(m) : standardRow(m));
  return columnize(rows);
}

}  // namespace cairn::cli
