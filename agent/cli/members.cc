// `cairn members`: consul members' table, from GET /v1/agent/members (the Raft servers and the
// client agents, with a status every server derives alike from the replicated state). Against an
// agent that does not serve that endpoint (404: an older Cairn) the members are assembled from the
// Raft configuration, its own /v1/agent/self and autopilot's view of the others.
#include <iostream>
#include <regex>

#define _TURN_OFF_PLATFORM_STRING
#include <cpprest/json.h>

#include "agent/cli/commands.h"
#include "agent/cli/operator_format.h"

namespace cairn::cli {
namespace {

constexpr char kHelp[] = R"(Usage: cairn members [options]

  Outputs the members of a running Cairn agent's cluster. Without a gossip
  layer these are the servers of the Raft configuration (Address: the RPC
  address) and the client agents that heartbeat to them (Type "client",
  Address: the client's address and HTTP port). Status is "failed" once the
  leader has marked the member's serfHealth check critical (~10 s after losing
  contact), "left" after a graceful leave or force-leave, the same on every
  server, and "alive" otherwise.
)";

using JsonValue = web::json::value;

struct MembersFlags {
  HttpOptions http;
  bool detailed = false;
  std::string status = ".*";
};

std::optional<JsonValue> getJson(const ApiClient& api, const std::string& path) {
  auto response = api.send("GET", path, {}, "", true);
  if (!response.isOk() || (response->status != 200 && response->status != 429)) return std::nullopt;
  try {
    return JsonValue::parse(response->body);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string stringAt(const JsonValue& v, const char* object, const char* field) {
  if (!v.is_object() || !v.has_field(object) || !v.at(object).is_object()) return "";
  const JsonValue& o = v.at(object);
  return o.has_field(field) && o.at(field).is_string() ? o.at(field).as_string() : "";
}

struct ServerView {
  std::string status, version;
};

// Autopilot's SerfStatus and Version by server ID (empty when autopilot cannot answer here).
std::map<std::string, ServerView> autopilotView(const ApiClient& api) {
  std::map<std::string, ServerView> view;
  auto health = getJson(api, "/v1/operator/autopilot/health");
  if (!health || !health->is_object() || !health->has_field("Servers")) return view;
  const JsonValue& servers = health->at("Servers");
  if (!servers.is_array()) return view;
  for (const JsonValue& s : servers.as_array()) {
    auto field = [&s](const char* name) {
      return s.has_field(name) && s.at(name).is_string() ? s.at(name).as_string() : "";
    };
    view[field("ID")] = ServerView{field("SerfStatus"), field("Version")};
  }
  return view;
}

StatusOr<std::vector<Member>> membersFromRaft(const ApiClient& api) {
  auto response = api.send("GET", "/v1/operator/raft/configuration", {}, "", true);
  if (!response.isOk()) return response.status();
  if (response->status != 200) return unexpectedResponse(*response);
  auto peers = parseRaftConfiguration(response->body);
  if (!peers.isOk()) return peers.status();
  JsonValue self = getJson(api, "/v1/agent/self").value_or(JsonValue());
  std::string self_id = stringAt(self, "Config", "NodeID");
  std::string dc = stringAt(self, "Config", "Datacenter");
  auto view = autopilotView(api);
  std::vector<Member> members;
  for (const RaftPeer& p : *peers) {
    auto known = view.find(p.id);
    bool is_self = !self_id.empty() && p.id == self_id;
    std::string status = known != view.end() && !known->second.status.empty()
                             ? known->second.status
                             : (is_self ? "alive" : "unknown");
    std::string build = is_self ? stringAt(self, "Config", "Version")
                                : (known != view.end() ? known->second.version : "");
    members.push_back(Member{p.node,
                             p.address,
                             status,
                             {{"role", "consul"},
                              {"dc", dc},
                              {"id", p.id},
                              {"build", build.empty() ? "-" : build},
                              {"vsn", "-"}}});
  }
  return members;
}

StatusOr<std::vector<Member>> fetchMembers(const ApiClient& api) {
  auto response = api.send("GET", "/v1/agent/members", {});
  if (!response.isOk()) return response.status();
  if (response->status == 200) return parseAgentMembers(response->body);
  if (response->status != 404) return unexpectedResponse(*response);
  return membersFromRaft(api);
}

}  // namespace

int runMembers(const std::vector<std::string>& args, CliIo& io) {
  FlagSet fs;
  MembersFlags f;
  addHttpFlags(fs, &f.http);
  fs.addBool("detailed", &f.detailed, "Provides detailed information about nodes.");
  fs.addString("status", &f.status,
               "If provided, output is filtered to only nodes matching the regular expression "
               "for status.");
  if (auto code = parseFlags(fs, args, commandHelp(kHelp, fs), io)) return *code;
  std::regex status_re;
  try {
    status_re = std::regex(f.status);
  } catch (const std::regex_error& e) {
    io.err << "Failed to compile status regexp: " << e.what() << "\n";
    return 1;
  }
  auto api = connectApi(f.http, io);
  if (!api) return 1;
  auto members = fetchMembers(*api);
  if (!members.isOk()) {
    io.err << "Error retrieving members: " << members.status().message() << "\n";
    return 1;
  }
  std::erase_if(*members, [&](const Member& m) { return !std::regex_search(m.status, status_re); });
  if (members->empty()) return 2;  // No matching members, as consul.
  io.out << formatMemberTable(std::move(*members), f.detailed) << "\n";
  return 0;
}

}  // namespace cairn::cli
