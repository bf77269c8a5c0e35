// /v1/agent/members, join, leave, force-leave: see membership_routes.h.
#include <algorithm>

#include "core/http/catalog_routes.h"
#include "core/http/handlers.h"
#include "core/http/json_writer.h"
#include "core/http/membership_routes.h"
#include "core/http/read_query.h"

namespace cairn::http {
namespace {

// Serf's member status codes.
constexpr int kMemberAlive = 1;
constexpr int kMemberFailed = 4;

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

MemberJson serverMember(const ApiContext& ctx, const node::RaftServer& s, bool wan) {
  auto [host, port] = splitHostPort(s.address, std::to_string(ctx.agent.server_port));
  MemberJson m;
  m.name = s.node.empty() ? s.id : s.node;
  if (wan) m.name += "." + ctx.agent.datacenter;
  m.addr = host;
  m.port = portNumber(port);
  m.tags = {{"role", "consul"},
            {"dc", ctx.agent.datacenter},
            {"port", port},
            {"id", s.id},
            {"build", ctx.agent.version},
            {"vsn", "2"},
            {"vsn_min", "2"},
            {"vsn_max", "3"},
            {"raft_vsn", "3"},
            {"segment", ""}};
  m.status = serverStatus(ctx, s);
  return m;
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

// The Raft servers, then (LAN only: clients are not WAN members) the client agents, by name.
HttpResponse members(ApiContext& ctx, const HttpRequest& req) {
  bool wan = req.query.has("wan") && req.query.get("wan") != "false";
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
  add(router, "/v1/agent/leave", false, {"PUT"}, [hooks](const HttpRequest&, Responder respond) {
    if (!hooks.leave) return respond(textResponse(500, "leave is not supported here"));
    respond(jsonResponse(""));
    hooks.leave();
  });
}

}  // namespace cairn::http
