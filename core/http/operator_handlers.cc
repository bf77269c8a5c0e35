// /v1/operator/raft/* and /v1/operator/autopilot/* (docs/consul-api.md §9): the Raft configuration,
// removing a server, handing leadership over, and autopilot's view of server health. Errors from
// the node are 500 with its message, as Consul answers RPC errors. A follower relays these
// requests to the leader (leader_forward.h), as Consul forwards their RPCs. One Cairn route,
// /v1/operator/raft/self-health, is answered by each server about itself (a readiness probe).
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>

#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/http/json_writer.h"
#include "core/http/leader_forward.h"
#include "core/http/read_query.h"

namespace cairn::http {
namespace {

using SystemTime = std::chrono::system_clock::time_point;

// Go's time.Time JSON form (RFC 3339, nanoseconds without trailing zeros), in UTC.
std::string formatRfc3339Nano(SystemTime t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  int64_t frac = ns % 1'000'000'000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (frac != 0) {
    char digits[16];
    std::snprintf(digits, sizeof digits, ".%09lld", static_cast<long long>(frac));
    std::string f = digits;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

// Autopilot's StableSince: when each server entered its current health state, as this agent first
// saw it (the node reports health, not its history). Thread-safe.
class StabilityTracker {
 public:
  SystemTime since(const std::string& id, bool healthy) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = seen_.try_emplace(id, healthy, std::chrono::system_clock::now());
    if (!inserted && it->second.first != healthy) {
      it->second = {healthy, std::chrono::system_clock::now()};
    }
    return it->second.second;
  }
  // Forgets servers that left the configuration.
  void retain(const std::vector<node::ServerHealth>& servers) {
    std::lock_guard lock(mu_);
    std::map<std::string, std::pair<bool, SystemTime>> kept;
    for (const auto& s : servers) {
      if (auto it = seen_.find(s.server.id); it != seen_.end()) kept.insert(*it);
    }
    seen_.swap(kept);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<bool, SystemTime>> seen_;
};

HttpResponse nodeError(const Status& status) { return textResponse(500, status.message()); }

void respondJson(const HttpRequest& req, Responder& respond, std::string body, int status = 200) {
  HttpResponse r = jsonResponse(std::move(body), status);
  applyPretty(req, r);
  respond(std::move(r));
}

std::string configurationJson(const node::RaftConfiguration& c) {
  JsonWriter w;
  w.beginObject().key("Servers").beginArray();
  for (const auto& s : c.servers) {
    w.beginObject();
    w.key("ID").string(s.id).key("Node").string(s.node).key("Address").string(s.address);
    w.key("Leader").boolean(s.leader).key("ProtocolVersion").string("3");
    w.key("Voter").boolean(s.voter).key("LastIndex").number(s.last_index);
    w.endObject();
  }
  w.endArray().key("Index").number(c.index).endObject();
  return w.take();
}

void raftConfiguration(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  ctx.node.readBarrier(opts->mode, [&ctx, req, respond](Status status) mutable {
    if (!status.isOk()) return respond(nodeError(status));
    respondJson(*req, respond, configurationJson(ctx.node.raftConfiguration()));
  });
}

// Consul checks the target is in the configuration before asking Raft to remove it.
Status checkInConfiguration(ApiContext& ctx, const std::string& value, bool by_id) {
  for (const auto& s : ctx.node.raftConfiguration().servers) {
    if ((by_id ? s.id : s.address) == value) return Status::ok();
  }
  return notFound(std::string(by_id ? "id" : "address") + " \"" + value +
                  "\" was not found in the Raft configuration");
}

void removePeer(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto id = req->query.get("id");
  auto address = req->query.get("address");
  if (!id && !address) {
    return respond(textResponse(
        400,
        "Must specify either ?id with the server's ID or ?address with IP:port of peer to "
        "remove"));
  }
  std::string target = id ? *id : *address;
  if (Status s = checkInConfiguration(ctx, target, id.has_value()); !s.isOk()) {
    return respond(nodeError(s));
  }
  ctx.node.removePeer(target, [respond](Status status) {
    respond(status.isOk() ? textResponse(200, "") : nodeError(status));
  });
}

void transferLeader(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  std::string id = req->query.get("id").value_or("");
  ctx.node.transferLeadership(id, [req, respond](Status status) mutable {
    if (!status.isOk()) return respond(nodeError(status));
    respondJson(*req, respond,
                JsonWriter().beginObject().key("Success").boolean(true).endObject().take());
  });
}

void writeServerHealth(JsonWriter& w, const node::ServerHealth& h, const AgentInfo& agent,
                       StabilityTracker& stability) {
  const node::RaftServer& s = h.server;
  // There is no gossip layer: a server autopilot counts healthy is reported alive, any other one
  // failed. Only the local server's version is known here.
  bool alive = h.healthy || s.id == agent.node_id;
  w.beginObject();
  w.key("ID").string(s.id).key("Name").string(s.node).key("Address").string(s.address);
  w.key("SerfStatus").string(alive ? "alive" : "failed");
  w.key("Version").string(s.id == agent.node_id ? agent.version : "");
  w.key("Leader").boolean(s.leader);
  w.key("LastContact")
      .string(formatGoDuration(std::chrono::milliseconds(s.leader ? 0 : h.last_contact_ms)));
  w.key("LastTerm").number(h.last_term).key("LastIndex").number(h.last_index);
  w.key("Healthy").boolean(h.healthy).key("Voter").boolean(s.voter);
  w.key("StableSince").string(formatRfc3339Nano(stability.since(s.id, h.healthy)));
  w.endObject();
}

void autopilotHealth(ApiContext& ctx, RequestPtr req, Responder respond,
                     StabilityTracker& stability) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto health = ctx.node.autopilotHealth();
  if (!health.isOk()) return respond(nodeError(health.status()));
  stability.retain(health->servers);
  JsonWriter w;
  w.beginObject().key("Healthy").boolean(health->healthy);
  w.key("FailureTolerance").number(static_cast<int64_t>(health->failure_tolerance));
  w.key("Servers").beginArray();
  for (const auto& h : health->servers) writeServerHealth(w, h, ctx.agent, stability);
  w.endArray().endObject();
  respondJson(*req, respond, w.take(), health->healthy ? 200 : 429);
}

// A follower that has not heard from its leader for this long no longer counts as part of a
// cluster with a leader: twice the longest election timeout (20 ticks of 50 ms), so one lost
// heartbeat never flaps a pod's readiness, while a partitioned server turns unready in seconds.
constexpr uint64_t kMaxLeaderSilenceMs = 2000;

struct SelfHealth {
  bool ready = false;
  std::string reason;
  const node::RaftServer* self = nullptr;  // in `configuration`, or null when not a member
};

// A leader counts only while a majority of the voters is healthy in its autopilot view: a leader
// cut off from its followers is still leader until check-quorum steps it down.
bool leaderHasHealthyMajority(const node::Node& node, std::string* why) {
  auto health = node.autopilotHealth();
  if (!health.isOk()) {
    *why = "leader without an autopilot view: " + health.status().message();
    return false;
  }
  size_t voters = 0, healthy = 0;
  for (const auto& s : health->servers) {
    if (!s.server.voter) continue;
    ++voters;
    if (s.healthy) ++healthy;
  }
  if (healthy * 2 > voters) return true;
  *why = "leader with " + std::to_string(healthy) + " healthy voters of " + std::to_string(voters);
  return false;
}

// "A healthy voter, or a learner catching up, of a cluster with a leader": the leader is known
// and was heard from recently (or is this server, with a healthy majority), and this server is
// in the Raft configuration. Everything is this server's own view; nothing is relayed, so a
// probe never waits on another server.
SelfHealth selfHealth(const node::Node& node, const node::LeaderStatus& leader,
                      const node::RaftConfiguration& configuration, const std::string& self_id) {
  SelfHealth h;
  for (const auto& s : configuration.servers) {
    if (s.id == self_id) h.self = &s;
  }
  bool is_leader = node.isLeader();
  if (!leader.known_leader) {
    h.reason = "no known leader";
  } else if (!is_leader && leader.last_contact_ms > kMaxLeaderSilenceMs) {
    h.reason = "no contact with the leader for " + std::to_string(leader.last_contact_ms) + " ms";
  } else if (h.self == nullptr) {
    h.reason = "not in the Raft configuration (yet)";
  } else if (is_leader && !leaderHasHealthyMajority(node, &h.reason)) {
    // reason set
  } else {
    h.ready = true;
    h.reason = h.self->voter ? "voter" : "learner catching up";
  }
  return h;
}

// GET /v1/operator/raft/self-health: 200 when ready, 503 with the reason otherwise.
void raftSelfHealth(ApiContext& ctx, RequestPtr req, Responder respond) {
  node::LeaderStatus leader = ctx.node.leaderStatus();
  node::RaftConfiguration configuration = ctx.node.raftConfiguration();
  SelfHealth h = selfHealth(ctx.node, leader, configuration, ctx.agent.node_id);
  JsonWriter w;
  w.beginObject().key("Ready").boolean(h.ready).key("Reason").string(h.reason);
  w.key("ID").string(ctx.agent.node_id).key("Node").string(ctx.agent.node_name);
  w.key("Member").boolean(h.self != nullptr).key("Voter").boolean(h.self && h.self->voter);
  w.key("Leader").boolean(ctx.node.isLeader()).key("KnownLeader").boolean(leader.known_leader);
  w.key("LeaderAddress").string(leader.leader_address);
  w.key("LastContact").string(formatGoDuration(std::chrono::milliseconds(leader.last_contact_ms)));
  w.endObject();
  respondJson(*req, respond, w.take(), h.ready ? 200 : 503);
}

// The replicated configuration (Consul's defaults until set), in Consul's shape. Cairn stores
// and serves it; its own server health rules do not read it yet (docs/consul-api.md §9).
std::string autopilotConfigurationJson(const v1::AutopilotConfig& c) {
  JsonWriter w;
  w.beginObject();
  w.key("CleanupDeadServers").boolean(c.cleanup_dead_servers());
  w.key("LastContactThreshold")
      .string(formatGoDuration(std::chrono::nanoseconds(c.last_contact_threshold_ns())));
  w.key("MaxTrailingLogs").number(c.max_trailing_logs());
  w.key("MinQuorum").number(c.min_quorum());
  w.key("ServerStabilizationTime")
      .string(formatGoDuration(std::chrono::nanoseconds(c.server_stabilization_time_ns())));
  w.key("RedundancyZoneTag").string(c.redundancy_zone_tag());
  w.key("DisableUpgradeMigration").boolean(c.disable_upgrade_migration());
  w.key("UpgradeVersionTag").string(c.upgrade_version_tag());
  w.key("CreateIndex").number(c.create_index());
  w.key("ModifyIndex").number(c.modify_index());
  w.endObject();
  return w.take();
}

// PUT's body over the current configuration: fields it leaves out keep their value (Consul's
// CLI sends every field; a partial body from a script changes only what it names).
StatusOr<v1::AutopilotConfig> decodeAutopilotConfig(const std::string& body,
                                                    v1::AutopilotConfig c) {
  auto json = parseJson(body);
  if (!json.isOk() || !json->is_object()) {
    return invalidArgument(
        "Error parsing autopilot config: " +
        (json.isOk() ? std::string("not a JSON object") : json.status().message()));
  }
  bool cleanup = c.cleanup_dead_servers(), no_migration = c.disable_upgrade_migration();
  int64_t contact = c.last_contact_threshold_ns(), stabilization = c.server_stabilization_time_ns();
  std::string zone = c.redundancy_zone_tag(), version_tag = c.upgrade_version_tag();
  CAIRN_RETURN_IF_ERROR(decodeBool(*json, "CleanupDeadServers", &cleanup));
  CAIRN_RETURN_IF_ERROR(decodeBool(*json, "DisableUpgradeMigration", &no_migration));
  CAIRN_RETURN_IF_ERROR(decodeDuration(*json, "LastContactThreshold", &contact));
  CAIRN_RETURN_IF_ERROR(decodeDuration(*json, "ServerStabilizationTime", &stabilization));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "RedundancyZoneTag", &zone));
  CAIRN_RETURN_IF_ERROR(decodeString(*json, "UpgradeVersionTag", &version_tag));
  auto trailing = uintField(*json, "MaxTrailingLogs");
  auto quorum = uintField(*json, "MinQuorum");
  if (!trailing.isOk()) return trailing.status();
  if (!quorum.isOk()) return quorum.status();
  if (contact < 0 || stabilization < 0) return invalidArgument("durations must not be negative");
  c.set_cleanup_dead_servers(cleanup);
  c.set_disable_upgrade_migration(no_migration);
  c.set_last_contact_threshold_ns(contact);
  c.set_server_stabilization_time_ns(stabilization);
  c.set_redundancy_zone_tag(zone);
  c.set_upgrade_version_tag(version_tag);
  if (*trailing) c.set_max_trailing_logs(**trailing);
  if (*quorum) c.set_min_quorum(**quorum);
  return c;
}

// PUT /v1/operator/autopilot/configuration[?cas=<ModifyIndex>]: "true", or "false" when the
// configuration changed since the ModifyIndex given.
void setAutopilotConfiguration(ApiContext& ctx, RequestPtr req, Responder respond) {
  v1::Command cmd;
  v1::AutopilotSetConfig* set = cmd.mutable_autopilot_set_config();
  if (auto cas = req->query.get("cas")) {
    char* end = nullptr;
    uint64_t index = std::strtoull(cas->c_str(), &end, 10);
    if (cas->empty() || *end != '\0') {
      return respond(textResponse(400, "Error parsing cas value: " + *cas));
    }
    set->set_cas(true);
    set->set_cas_index(index);
  }
  auto config = decodeAutopilotConfig(req->body, ctx.store.autopilotConfig());
  if (!config.isOk()) return respond(textResponse(400, config.status().message()));
  config->clear_create_index();
  config->clear_modify_index();
  *set->mutable_config() = std::move(*config);
  ctx.node.propose(std::move(cmd), [respond](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    const store::TxnOutcome& outcome = result->outcome;
    if (!outcome.ok && !outcome.errors.empty() &&
        outcome.errors[0].what == store::kAutopilotCasMismatch) {
      return respond(jsonResponse("false"));
    }
    if (!outcome.ok) {
      return respond(
          textResponse(400, outcome.errors.empty() ? "rejected" : outcome.errors[0].what));
    }
    respond(jsonResponse("true"));
  });
}

using OperatorHandler = std::function<void(ApiContext&, RequestPtr, Responder)>;

void addRoute(Router& router, ApiContext& ctx, std::string path, std::string method,
              OperatorHandler handler) {
  router.add(Route{std::move(path),
                   false,
                   {std::move(method)},
                   [&ctx, handler](RequestPtr req, Responder respond) {
                     handler(ctx, std::move(req), std::move(respond));
                   }});
}

}  // namespace

void addOperatorRoutes(Router& router, ApiContext& ctx) {
  auto stability = std::make_shared<StabilityTracker>();
  auto forwarder = LeaderForwarder::create({ctx.node, ctx.timers, ctx.agent.node_name}, {});
  // Each answered by the leader (relayed there from a follower), so that every server gives the
  // same figures; only the configuration may be read locally with ?stale.
  auto leaderOnly = [forwarder](OperatorHandler handler, bool stale_ok) -> OperatorHandler {
    return [forwarder, handler, stale_ok](ApiContext& c, RequestPtr req, Responder respond) {
      forwarder->handle(std::move(req), std::move(respond), stale_ok,
                        [&c, handler](RequestPtr r, Responder done) {
                          handler(c, std::move(r), std::move(done));
                        });
    };
  };
  addRoute(router, ctx, "/v1/operator/raft/configuration", "GET",
           leaderOnly(raftConfiguration, true));
  addRoute(router, ctx, "/v1/operator/raft/self-health", "GET", raftSelfHealth);
  addRoute(router, ctx, "/v1/operator/raft/peer", "DELETE", leaderOnly(removePeer, false));
  addRoute(router, ctx, "/v1/operator/raft/transfer-leader", "POST",
           leaderOnly(transferLeader, false));
  addRoute(router, ctx, "/v1/operator/autopilot/health", "GET",
           leaderOnly(
               [stability](ApiContext& c, RequestPtr req, Responder respond) {
                 autopilotHealth(c, std::move(req), std::move(respond), *stability);
               },
               false));
  // GET from this server's replica; PUT through the log (a follower forwards the proposal).
  router.add(Route{"/v1/operator/autopilot/configuration",
                   false,
                   {"GET", "PUT"},
                   [&ctx](RequestPtr req, Responder respond) {
                     if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) {
                       return respond(errorResponse(s));
                     }
                     if (req->method == "PUT") {
                       return setAutopilotConfiguration(ctx, std::move(req), std::move(respond));
                     }
                     respondJson(*req, respond,
                                 autopilotConfigurationJson(ctx.store.autopilotConfig()));
                   }});
}

}  // namespace cairn::http
