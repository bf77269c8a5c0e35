// /v1/event/fire/<name> and /v1/event/list: Consul's user events (docs/consul-api.md §8).
//
// Departure from Consul: events travel through the Raft log (EventFire) instead of gossip, so
// every server holds the same last kEventsKept events in the same order. An agent lists the
// events whose filters match itself (its node name, its services and their tags), as a Consul
// agent only keeps the events addressed to it; a list a client agent forwarded is given for that
// client (HttpRequest::agent_node). Filters are ECMAScript regular expressions
// (std::regex) searched anywhere in the name, close to Go's regexp.MatchString.
#include <regex>

#include "core/http/handlers.h"
#include "core/http/read_query.h"
#include "core/http/session_json.h"
#include "core/store/catalog_table.h"

namespace cairn::http {
namespace {

constexpr std::string_view kFirePrefix = "/v1/event/fire/";
// Serf's limit on an encoded user event; the route refuses larger bodies with 413.
constexpr size_t kMaxEventPayload = 512;

// The compiled filter, or the error text of an invalid one.
StatusOr<std::regex> compileFilter(const std::string& pattern, std::string_view what) {
  try {
    return std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return internalError("Invalid " + std::string(what) + " filter: " + e.what());
  }
}

bool searches(const std::string& pattern, const std::string& text) {
  auto re = compileFilter(pattern, "");
  return re.isOk() && std::regex_search(text, *re);
}

// Whether a Consul agent named `node` would keep `event` (serf's filter rules).
bool addressedHere(ApiContext& ctx, const std::string& node, const v1::UserEvent& event) {
  if (!event.node_filter().empty() && !searches(event.node_filter(), node)) {
    return false;
  }
  if (event.service_filter().empty()) return true;
  store::NodeServices local = ctx.store.nodeServices(node);
  for (const auto& s : local.services) {
    if (!searches(event.service_filter(), s.service())) continue;
    if (event.tag_filter().empty()) return true;
    for (const auto& tag : s.tags()) {
      if (searches(event.tag_filter(), tag)) return true;
    }
  }
  return false;
}

Status validateFilters(const v1::UserEvent& e) {
  if (!e.tag_filter().empty() && e.service_filter().empty()) {
    return internalError("Cannot provide tag filter without service filter");
  }
  const std::pair<const std::string*, std::string_view> filters[] = {
      {&e.node_filter(), "node"}, {&e.service_filter(), "service"}, {&e.tag_filter(), "tag"}};
  for (const auto& [pattern, what] : filters) {
    if (pattern->empty()) continue;
    if (auto re = compileFilter(*pattern, what); !re.isOk()) return re.status();
  }
  return Status::ok();
}

void eventFire(ApiContext& ctx, RequestPtr req, Responder respond) {
  std::string name = req->path.substr(std::min(req->path.size(), kFirePrefix.size()));
  if (name.empty()) return respond(textResponse(400, "Missing name"));
  v1::UserEvent event;
  event.set_id(newUuid());
  event.set_name(name);
  event.set_payload(req->body);
  event.set_node_filter(req->query.get("node").value_or(""));
  event.set_service_filter(req->query.get("service").value_or(""));
  event.set_tag_filter(req->query.get("tag").value_or(""));
  if (Status s = validateFilters(event); !s.isOk()) return respond(errorResponse(s));
  v1::Command cmd;
  *cmd.mutable_event_fire()->mutable_event() = event;
  ctx.node.propose(std::move(cmd), [req, respond, event](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    if (!result->outcome.ok) {
      const auto& errors = result->outcome.errors;
      return respond(textResponse(500, errors.empty() ? "event fire failed" : errors[0].what));
    }
    v1::UserEvent fired = event;
    fired.set_ltime(0);  // Consul answers before the event is delivered anywhere.
    HttpResponse r = jsonResponse(eventJson(fired));
    applyPretty(*req, r);
    respond(std::move(r));
  });
}

// The events the agent `node` keeps (this server, or the client agent that forwarded the list).
QueryAnswer listEvents(ApiContext& ctx, const std::string& node, const std::string& name) {
  std::vector<v1::UserEvent> events;
  store::EventList all = ctx.store.events();
  for (auto& e : all.events) {
    if ((name.empty() || e.name() == name) && addressedHere(ctx, node, e)) {
      events.push_back(std::move(e));
    }
  }
  uint64_t index = events.empty() ? 1 : uuidToIndex(events.back().id());
  return QueryAnswer{index == 0 ? 1 : index, jsonResponse(eventsJson(events))};
}

void eventList(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  opts->until_index_differs = true;  // event indexes are hashes, not counters
  store::WatchTarget target{store::catalogWatchKey(store::CatalogIndex::kEvents), false};
  serveRead(
      ctx, req, *opts, std::move(target),
      [&ctx, node = req->agent_node.empty() ? ctx.agent.node_name : req->agent_node,
       name = req->query.get("name").value_or("")] { return listEvents(ctx, node, name); },
      std::move(respond));
}

}  // namespace

void addEventRoutes(Router& router, ApiContext& ctx) {
  auto guarded = [&ctx](void (*handler)(ApiContext&, RequestPtr, Responder)) {
    return [&ctx, handler](RequestPtr req, Responder respond) {
      if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
      handler(ctx, std::move(req), std::move(respond));
    };
  };
  router.add(Route{std::string(kFirePrefix), true, {"PUT"}, guarded(eventFire), kMaxEventPayload});
  router.add(Route{"/v1/event/list", false, {"GET"}, guarded(eventList)});
}

}  // namespace cairn::http
