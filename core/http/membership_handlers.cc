// /v1/agent/members, join, leave, force-leave: see membership_routes.h.
#include <algorithm>

#include "core/base/logging.h"
#include "core/http/catalog_routes.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/http/json_writer.h"
#include "core/http/membership_routes.h"
#include "core/http/read_query.h"

namespace cairn::http {
namespace {

// One member as Consul's api.AgentMember.
struct MemberJson {
  std::string name, addr;
  uint64_t port = 0;
  std::vector<std::pair<std::string, std::string>> tags;
  int status = kMemberAlive;
};

void writeMember(JsonWriter& w, const MemberJson& m) {
  w.beginObject().key("Name").string(m.name).key("Addr").string(m.addr);
  w.key("Port").number(m.port).key("Tags").beginObject();
  for (const auto& [k, v] : m.tags) w.key(k).string(v);
  w.endObject().key("Status").number(static_cast<uint64_t>(m.status));
  // Serf's protocol range (1..5, current 2) and Consul's delegate range (2..5, current 4).
  w.key("ProtocolMin").number(uint64_t{1}).key("ProtocolMax").number(uint64_t{5});
  w.key("ProtocolCur").number(uint64_t{2}).key("DelegateMin").number(uint64_t{2});
  w.key("DelegateMax").number(uint64_t{5}).key("DelegateCur").number(uint64_t{4});
  w.endObject();
}

// "host:port" or "[v6]:port" → host and port; without a port (or a bare IPv6) the port is
// `fallback`.
std::pair<std::string, std::string> splitHostPort(const std::string& address,
                                                  const std::string& fallback) {
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos) return {address, fallback};
    bool has_port = close + 1 < address.size() && address[close + 1] == ':';
    return {address.substr(1, close - 1), has_port ? address.substr(close + 2) : fallback};
  }
  auto colon = address.find(':');
  if (colon == std::string::npos || address.find(':', colon + 1) != std::string::npos) {
    return {address, fallback};
  }
  return {address.substr(0, colon), address.substr(colon + 1)};
}

uint64_t portNumber(const std::string& port) {
  if (port.empty() || !std::all_of(port.begin(), port.end(), ::isdigit) || port.size() > 5) {
    return 0;
  }
  return std::stoul(port);
}

// A server's status from the replicated catalog, so that every server gives the same answer:
// failed once the leader turned its serfHealth check critical (agent/server_health_monitor.cc,
// ~10 s after it last heard from it), alive otherwise. This agent is always alive to itself.
int serverStatus(const ApiContext& ctx, const node::RaftServer& s) {
  if (s.id == ctx.agent.node_id || s.node.empty()) return kMemberAlive;
  for (const auto& check : ctx.store.nodeChecks(s.node).checks) {
    if (check.check_id() == "serfHealth") {
      return check.status() == "critical" ? kMemberFailed : kMemberAlive;
    }
  }
  return kMemberAlive;  // not registered yet
}

// A Raft server as Consul lists a server member: Port is its server RPC port.
MemberJson serverJson(const AgentInfo& self, const std::string& name, const std::string& id,
                      const std::string& host, const std::string& port, int status, bool wan) {
  MemberJson m;
  m.name = wan ? name + "." + self.datacenter : name;
  m.addr = host;
  m.port = portNumber(port);
  m.tags = {{"role", "consul"}, {"dc", self.datacenter}, {"port", port},
            {"id", id},         {"build", self.version}, {"vsn", "2"},
            {"vsn_min", "2"},   {"vsn_max", "3"},        {"raft_vsn", "3"},
            {"segment", ""}};
  m.status = status;
  return m;
}

MemberJson serverMember(const ApiContext& ctx, const node::RaftServer& s, bool wan) {
  auto [host, port] = splitHostPort(s.address, std::to_string(ctx.agent.server_port));
  return serverJson(ctx.agent, s.node.empty() ? s.id : s.node, s.id, host, port,
                    serverStatus(ctx, s), wan);
}

MemberJson clientMember(const v1::MemberRecord& r) {
  const v1::ClientMember& c = r.member();
  MemberJson m;
  m.name = c.node_name();
  m.addr = c.address();
  m.port = c.http_port();
  m.tags = {{"role", "node"}, {"dc", c.datacenter()}, {"id", c.node_id()}, {"build", c.build()},
            {"vsn", "2"},     {"vsn_min", "2"},       {"vsn_max", "3"},    {"segment", ""}};
  for (const auto& [k, v] : c.tags()) {
    auto same = [&k = k](const auto& tag) { return tag.first == k; };
    if (auto it = std::find_if(m.tags.begin(), m.tags.end(), same); it != m.tags.end()) {
      it->second = v;
    } else {
      m.tags.emplace_back(k, v);
    }
  }
  m.status = static_cast<int>(r.status());
  return m;
}

// ?wan and ?segment as Consul's agent endpoint reads them: a segment other than "" or "_all"
// (every LAN member) names a network segment, which only Consul Enterprise has, and cannot go
// with ?wan. An answer when the query is refused.
std::optional<HttpResponse> refuseMembersQuery(const HttpRequest& req, bool* wan) {
  *wan = req.query.has("wan") && req.query.get("wan") != "false";
  std::string segment = req.query.get("segment").value_or("");
  if (segment.empty() || segment == "_all") return std::nullopt;
  if (*wan) return textResponse(400, "Cannot provide a segment with wan=true");
  return textResponse(500, "Network segments are not supported in this version of Consul");
}

// The Raft servers, then (LAN only: clients are not WAN members) the client agents, by name.
HttpResponse members(ApiContext& ctx, const HttpRequest& req) {
  bool wan = false;
  if (auto refused = refuseMembersQuery(req, &wan)) return *refused;
  node::RaftConfiguration conf = ctx.node.raftConfiguration();
  bool self_listed = false;
  JsonWriter w;
  w.beginArray();
  for (const auto& s : conf.servers) {
    self_listed |= s.id == ctx.agent.node_id;
    writeMember(w, serverMember(ctx, s, wan));
  }
  if (!self_listed) {
    node::RaftServer self;
    self.id = ctx.agent.node_id;
    self.node = ctx.agent.node_name;
    self.address = ctx.agent.advertise_addr + ":" + std::to_string(ctx.agent.server_port);
    writeMember(w, serverMember(ctx, self, wan));
  }
  if (!wan) {
    for (const auto& r : ctx.store.members()) writeMember(w, clientMember(r));
  }
  w.endArray();
  return jsonResponse(w.take());
}

// A server's join: Cairn servers enter a cluster through -retry-join / -join at start (Raft
// join, docs/operations.md). Joining an address of this cluster's servers is what Consul does
// for a member that already knows it: success. Anything else is refused clearly.
HttpResponse join(ApiContext& ctx, const std::string& address) {
  if (address.empty()) return textResponse(400, "Missing address to join");
  auto [want_host, want_port] = splitHostPort(address, "");
  for (const auto& s : ctx.node.raftConfiguration().servers) {
    auto [host, port] = splitHostPort(s.address, "");
    if (host == want_host && (want_port.empty() || want_port == port)) return jsonResponse("");
  }
  return textResponse(500, "cannot join " + address +
                               ": a Cairn server joins a cluster only at start, with -retry-join "
                               "or -join (see docs/operations.md); " +
                               address + " is not a server of this cluster");
}

bool isServer(ApiContext& ctx, const std::string& name) {
  for (const auto& s : ctx.node.raftConfiguration().servers) {
    if (store::lowercase(s.node) == store::lowercase(name)) return true;
  }
  return false;
}

void forceLeave(ApiContext& ctx, const MembershipHooks& hooks, const HttpRequest& req,
                Responder respond) {
  static constexpr std::string_view kPrefix = "/v1/agent/force-leave/";
  std::string name = suffixAfter(req, kPrefix);
  if (name.empty()) return respond(textResponse(400, "Missing node name"));
  if (isServer(ctx, name)) {
    return respond(textResponse(500,
                                "force-leave of a server is not supported by Cairn: remove it "
                                "from the Raft configuration with `cairn operator raft "
                                "remove-peer` (docs/operations.md)"));
  }
  if (!hooks.force_leave) return respond(textResponse(500, "membership is not running"));
  bool prune = req.query.has("prune") && req.query.get("prune") != "false";
  hooks.force_leave(name, prune, [respond](Status s) {
    // Consul answers an unknown node with a 500 too.
    respond(s.isOk() ? jsonResponse("") : textResponse(500, s.message()));
  });
}

void add(Router& router, std::string path, bool prefix, std::vector<std::string> methods,
         std::function<void(const HttpRequest&, Responder)> fn) {
  router.add(Route{std::move(path), prefix, std::move(methods),
                   [fn = std::move(fn)](RequestPtr req, Responder respond) {
                     fn(*req, Responder([req, respond](HttpResponse r) mutable {
                       applyPretty(*req, r);
                       respond(std::move(r));
                     }));
                   },
                   Router::kDefaultMaxBody});
}

// ---- client agents: the servers' list, one JSON code path ----

v1::MemberRecord recordOf(const AgentInfo& self, const AgentMember& m) {
  v1::MemberRecord r;
  v1::ClientMember& c = *r.mutable_member();
  c.set_node_name(m.name);
  c.set_node_id(m.id);
  c.set_address(m.addr);
  c.set_http_port(static_cast<uint32_t>(std::max(0, m.port)));
  c.set_datacenter(self.datacenter);
  c.set_build(self.version);
  r.set_status(static_cast<v1::MemberStatus>(m.status));
  return r;
}

// A client agent's own view, for when no server answers: itself and the servers it knows (by
// address, alive: it cannot tell), written as a server writes its list.
HttpResponse localMembers(const AgentApiContext& ctx, bool wan) {
  JsonWriter w;
  w.beginArray();
  for (const AgentMember& m : ctx.members.members()) {
    if (m.server) {
      writeMember(
          w, serverJson(ctx.agent, m.name, m.id, m.addr, std::to_string(m.port), m.status, wan));
    } else if (!wan) {
      writeMember(w, clientMember(recordOf(ctx.agent, m)));
    }
  }
  w.endArray();
  return jsonResponse(w.take());
}

// The servers' (compact) list with this agent appended when it is not in it yet: its first
// heartbeat may still be on its way, and an agent always lists itself, as in Consul.
HttpResponse withSelf(const AgentApiContext& ctx, HttpResponse r) {
  if (r.status != 200) return r;
  auto list = parseJson(r.body);
  if (!list.isOk() || !list->is_array() || r.body.empty() || r.body.back() != ']') return r;
  for (const auto& m : list->as_array()) {
    if (m.has_string_field("Name") && m.at("Name").as_string() == ctx.agent.node_name) return r;
  }
  for (const AgentMember& m : ctx.members.members()) {
    if (m.server || m.name != ctx.agent.node_name) continue;
    JsonWriter self;
    writeMember(self, clientMember(recordOf(ctx.agent, m)));
    r.body.pop_back();
    r.body += (list->size() == 0 ? "" : ",") + self.take() + "]";
  }
  return r;
}

// `raw_query` without ?pretty, so that the server's answer is compact (applyPretty formats the
// final answer).
std::string withoutPretty(const std::string& raw_query) {
  std::string out;
  size_t start = 0;
  while (start <= raw_query.size()) {
    size_t end = std::min(raw_query.find('&', start), raw_query.size());
    std::string_view item(raw_query.data() + start, end - start);
    if (!item.empty() && item.substr(0, item.find('=')) != "pretty") {
      out += (out.empty() ? "" : "&") + std::string(item);
    }
    start = end + 1;
  }
  return out;
}

void clientMembers(AgentApiContext& ctx, const ForwardToServer& forward, const HttpRequest& req,
                   Responder respond) {
  bool wan = false;
  if (auto refused = refuseMembersQuery(req, &wan)) return respond(std::move(*refused));
  auto compact = std::make_shared<HttpRequest>(req);
  compact->raw_query = withoutPretty(req.raw_query);
  forward(compact, Responder([&ctx, wan, respond](HttpResponse r) {
            respond(wan ? std::move(r) : withSelf(ctx, std::move(r)));
          }),
          [&ctx, wan, respond](const std::string& why) {
            LOG_WARN("members", "no server answered GET /v1/agent/members ("
                                    << why
                                    << "): answering this agent's own view, itself and the servers "
                                       "it knows, all shown alive");
            respond(localMembers(ctx, wan));
          });
}

// PUT /v1/agent/leave: answered first, then `leave` (null: 500).
void addLeaveRoute(Router& router, std::function<void()> leave) {
  add(router, "/v1/agent/leave", false, {"PUT"}, [leave](const HttpRequest&, Responder respond) {
    if (!leave) return respond(textResponse(500, "leave is not supported here"));
    respond(jsonResponse(""));
    leave();
  });
}

}  // namespace

void addMembershipRoutes(Router& router, ApiContext& ctx, MembershipHooks hooks) {
  add(router, "/v1/agent/members", false, {"GET"},
      [&ctx](const HttpRequest& req, Responder respond) { respond(members(ctx, req)); });
  static constexpr std::string_view kJoin = "/v1/agent/join/";
  // GET too: python-consul 0.7.1 calls join and force-leave with GET (docs/consul-api.md §1.1).
  add(router, std::string(kJoin), true, {"PUT", "GET"},
      [&ctx](const HttpRequest& req, Responder respond) {
        respond(join(ctx, suffixAfter(req, kJoin)));
      });
  add(router, "/v1/agent/force-leave/", true, {"PUT", "GET"},
      [&ctx, hooks](const HttpRequest& req, Responder respond) {
        forceLeave(ctx, hooks, req, std::move(respond));
      });
  addLeaveRoute(router, hooks.leave);
}

void addClientMembershipRoutes(Router& router, AgentApiContext& ctx, ClientMembershipHooks hooks) {
  add(router, "/v1/agent/members", false, {"GET"},
      [&ctx, forward = hooks.forward](const HttpRequest& req, Responder respond) {
        clientMembers(ctx, forward, req, std::move(respond));
      });
  // Force-leave is the servers' business: the request goes to one of them.
  add(router, "/v1/agent/force-leave/", true, {"PUT", "GET"},
      [forward = hooks.forward](const HttpRequest& req, Responder respond) {
        forward(std::make_shared<HttpRequest>(req), respond, [respond](const std::string& why) {
          respond(textResponse(500, "No Cairn server reachable: " + why));
        });
      });
  static constexpr std::string_view kJoin = "/v1/agent/join/";
  add(router, std::string(kJoin), true, {"PUT", "GET"},
      [join = hooks.join](const HttpRequest& req, Responder respond) {
        std::string address = suffixAfter(req, kJoin);
        if (address.empty()) return respond(textResponse(400, "Missing address to join"));
        if (!join) return respond(textResponse(500, "agent join is not supported here"));
        join(address, std::move(respond));
      });
  addLeaveRoute(router, hooks.leave);
}

}  // namespace cairn::http
