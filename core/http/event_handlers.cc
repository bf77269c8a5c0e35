// /v1/event/fire/<name> and /v1/event/list: Consul's user events (consul-api.md §8).
//
// Departure from Consul: events travel through the Raft log (EventFire) instead of gossip, so
// every server holds the same last kEventsKept events in the same order. An agent lists the
// events whose filters match itself (its node name, its services and their tags), as a Consul
// agent only keeps the events addressed to it. Filters are ECMAScript regular expressions
// (std::regex) searched anywhere in the name, close to Go's regexp.MatchString.
#include <mutex>
#include <random>
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

// Whether a Consul agent named ctx.agent.node_name would keep `event` (serf's filter rules).
bool addressedHere(ApiContext& ctx, const v1::UserEvent& event) {
  if (!event.node_filter().empty() && !searches(event.node_filter(), ctx.agent.node_name)) {
    return false;
  }
  if (event.service_filter().empty()) return true;
  store::NodeServices local = ctx.store.nodeServices(ctx.agent.node_name);
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

QueryAnswer listEvents(ApiContext& ctx, const std::string& name) {
  std::vector<v1::UserEvent> events;
  store::EventList all = ctx.store.events();
  for (auto& e : all.events) {
    if ((name.empty() || e.name() == name) && addressedHere(ctx, e)) events.push_back(std::move(e));
  }
  uint64_t index = events.empty() ? 1 : uuidToIndex(events.back().id());
  return QueryAnswer{index == 0 ? 1 : index, jsonResponse(eventsJson(events))};
}

Nanos jitterFor(Nanos wait) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t bound = wait.count() / 16;
  return bound <= 0 ? Nanos(0) : Nanos(std::uniform_int_distribution<int64_t>(0, bound - 1)(rng));
}

// A blocking event list: unlike other blocking queries it returns as soon as its index DIFFERS
// from the requested one (event indexes are hashes, not counters). Same lifecycle as serveRead's
// waiters: owned by the pending WatchHub callback or posted task; the timer holds a weak ref.
class EventListWait : public std::enable_shared_from_this<EventListWait> {
 public:
  EventListWait(ApiContext& ctx, RequestPtr req, QueryOptions opts, std::string name,
                Responder respond)
      : ctx_(ctx),
        req_(std::move(req)),
        opts_(opts),
        name_(std::move(name)),
        respond_(std::move(respond)),
        deadline_(std::chrono::steady_clock::now() + opts.wait + jitterFor(opts.wait)) {}

  void round() {
    uint64_t seen = ctx_.watches.lastIndex();
    QueryAnswer answer = listEvents(ctx_, name_);
    bool timed_out = std::chrono::steady_clock::now() >= deadline_;
    if (!opts_.blocking || answer.index != opts_.min_index || timed_out) return reply(answer);
    auto self = shared_from_this();
    store::WatchTarget target{store::catalogWatchKey(store::CatalogIndex::kEvents), false};
    auto id = ctx_.watches.watch(target, seen, [self] { self->woken(); });
    if (id == 0) return;
    std::weak_ptr<EventListWait> weak = self;
    auto timer = ctx_.timers.schedule(deadline_, [weak, id] {
      if (auto wait = weak.lock()) wait->expired(id);
    });
    std::lock_guard lock(mu_);
    timer_id_ = timer;
  }

 private:
  void woken() {
    {
      std::lock_guard lock(mu_);
      if (timer_id_ != 0) ctx_.timers.cancel(timer_id_);
      timer_id_ = 0;
    }
    auto self = shared_from_this();
    postWork([self] { self->round(); });
  }

  void expired(store::WatchHub::WatchId id) {
    if (!ctx_.watches.cancel(id)) return;
    auto self = shared_from_this();
    postWork([self] { self->reply(listEvents(self->ctx_, self->name_)); });
  }

  void reply(QueryAnswer answer) {
    addReadHeaders(ctx_, opts_.mode, answer.index, answer.response);
    applyPretty(*req_, answer.response);
    respond_(std::move(answer.response));
  }

  ApiContext& ctx_;
  RequestPtr req_;
  QueryOptions opts_;
  std::string name_;
  Responder respond_;
  SteadyTime deadline_;
  std::mutex mu_;  // guards timer_id_
  TimerQueue::TimerId timer_id_ = 0;
};

void eventList(ApiContext& ctx, RequestPtr req, Responder respond) {
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  auto wait = std::make_shared<EventListWait>(ctx, req, *opts, req->query.get("name").value_or(""),
                                              respond);
  ctx.node.readBarrier(opts->mode, [wait, respond](Status status) {
    if (!status.isOk()) return respond(textResponse(500, status.message()));
    wait->round();
  });
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
