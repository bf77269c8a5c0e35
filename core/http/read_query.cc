#include "core/http/read_query.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

#include "core/http/acl_resolver.h"
#include "core/http/io_pool.h"
#include "core/http/json_writer.h"
#include "core/store/catalog_table.h"

namespace cairn::http {

// Blocking queries waiting with the same fan-out key share one WaitGroup: one WatchHub entry, one
// query run and one rendered answer per wake-up. Everything here is guarded by `mu`, including
// the membership fields of every BlockingQuery. Lock order: FanOut::mu, then the WatchHub's and
// the TimerQueue's own locks (they never call out while holding them).
class FanOut {
 public:
  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<class WaitGroup>> groups;  // open groups
};

std::shared_ptr<FanOut> newFanOut() { return std::make_shared<FanOut>(); }

namespace {

const char* consistencyName(node::ReadMode mode) {
  switch (mode) {
    case node::ReadMode::kStale:
      return "stale";
    case node::ReadMode::kConsistent:
      return "consistent";
    default:
      return "leader";
  }
}

// A read that meets damaged storage fails this request with a 500 and leaves the agent serving
// (the store recorded the damage in StorageHealth and logged it; the agent reports unhealthy).
QueryAnswer runQuery(const QueryFn& query, bool* failed) {
  try {
    return query();
  } catch (const storage::ReadError& e) {
    *failed = true;
    QueryAnswer answer;
    answer.response = textResponse(500, e.what());
    return answer;
  }
}

Nanos jitterFor(Nanos wait) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t bound = wait.count() / 16;
  if (bound <= 0) return Nanos(0);
  return Nanos(std::uniform_int_distribution<int64_t>(0, bound - 1)(rng));
}

// Appends `part` so that no two different sequences of parts give the same key.
void addKeyPart(std::string& key, std::string_view part) {
  key += std::to_string(part.size());
  key += ':';
  key += part;
}

std::string_view rawParamName(std::string_view piece) { return piece.substr(0, piece.find('=')); }

// Every change to the ACL tables: the longest common prefix of their watch keys.
store::WatchTarget aclChanges() {
  static const std::string prefix = [] {
    std::string p = store::catalogWatchKey(store::CatalogIndex::kAclTokens);
    for (auto table : {store::CatalogIndex::kAclPolicies, store::CatalogIndex::kAclRoles}) {
      std::string key = store::catalogWatchKey(table);
      size_t n = 0;
      while (n < p.size() && n < key.size() && p[n] == key[n]) ++n;
      p.resize(n);
    }
    return p;
  }();
  return {prefix, true};
}

}  // namespace

// What every member of a group shares: the query and how to answer it. Immutable.
struct QuerySpec {
  ApiContext& ctx;
  std::string key;  // fanOutKey(); empty for a query that does not block
  store::WatchTarget target;
  QueryOptions opts;
  bool pretty;
  QueryFn query;
  // ACLs on: the caller's token and what it stood for when the query started
  // (AclResolver::fingerprint). A waiting query also wakes on every change to the ACL tables
  // and answers once its token's fingerprint moved, so the ACL guard checks the answer against
  // the token as it is now (403 when deleted, filtered by the narrower policy) without waiting
  // for the data to change. Secrets stay in memory only, as in the request.
  std::string acl_secret;
  std::string acl_seen;

  bool watchesAcl() const { return opts.blocking && ctx.acl != nullptr && !acl_seen.empty(); }
  bool aclChanged() const { return watchesAcl() && ctx.acl->fingerprint(acl_secret) != acl_seen; }

  bool satisfied(const QueryAnswer& answer) const {
    bool moved =
        opts.until_index_differs ? answer.index != opts.min_index : answer.index > opts.min_index;
    return moved || aclChanged();
  }

  // The final answer: the read headers and ?pretty applied.
  HttpResponse finish(QueryAnswer answer) const {
    addReadHeaders(ctx, opts.mode, answer.index, answer.response);
    if (pretty && answer.response.content_type == "application/json" &&
        !answer.response.body.empty()) {
      answer.response.body = prettyJson(answer.response.body);
    }
    return std::move(answer.response);
  }
};

class BlockingQuery;
using QueryPtr = std::shared_ptr<BlockingQuery>;

// A group's hub entries: its target's and, with ACLs, the ACL tables'. Cancelled unlocked.
struct GroupWatches {
  store::WatchHub::WatchId target = 0;
  store::WatchHub::WatchId acl = 0;

  void cancel(store::WatchHub& hub) const {
    if (target != 0) hub.cancel(target);
    if (acl != 0) hub.cancel(acl);
  }
};

// Blocking queries with one key, waiting on one WatchHub entry. Owned by the FanOut registry
// while open and by its hub callback; a wake-up closes it and hands its members to one task.
class WaitGroup : public std::enable_shared_from_this<WaitGroup> {
 public:
  explicit WaitGroup(std::shared_ptr<const QuerySpec> spec) : spec(std::move(spec)) {}

  // On the notifying thread: must be quick. Takes the members and posts one round for them all.
  void woken();

  const std::shared_ptr<const QuerySpec> spec;
  // Guarded by FanOut::mu.
  std::vector<QueryPtr> members;
  store::WatchHub::WatchId watch_id = 0;
  store::WatchHub::WatchId acl_watch_id = 0;  // QuerySpec::watchesAcl
  bool open = true;                           // in the registry, taking members
};

// One request served by serveRead. A blocking one (?index=N) that has to wait becomes a member of
// the WaitGroup of its key; it holds its responder, its deadline and its timer, and shares the
// query with the group. Owned by whichever closure runs it next (the read barrier's callback, a
// posted task) or by its group; the timer and the responder's cancel hook hold weak references.
class BlockingQuery : public std::enable_shared_from_this<BlockingQuery> {
 public:
  BlockingQuery(std::shared_ptr<const QuerySpec> spec, Responder respond)
      : ctx_(spec->ctx),
        blocking_(spec->opts.blocking),
        spec_(std::move(spec)),
        respond_(std::move(respond)) {
    if (blocking_) ctx_.metrics.incHttpBlockingQueries();
  }
  ~BlockingQuery() {
    if (blocking_) ctx_.metrics.decHttpBlockingQueries();
  }

  // Before the read barrier: the deadline's timer and the hook a departing client pulls.
  void arm() {
    if (!blocking_) return;
    const QueryOptions& opts = spec_->opts;
    deadline_ = std::chrono::steady_clock::now() + opts.wait + jitterFor(opts.wait);
    std::weak_ptr<BlockingQuery> weak = shared_from_this();
    timer_id_ = ctx_.timers.schedule(deadline_, [weak] {
      if (auto query = weak.lock()) query->expired();
    });
    respond_.onCancel([weak] {
      if (auto query = weak.lock()) query->cancelled();
    });
  }

  // Runs the query; replies if it is done, otherwise waits for a change or the deadline.
  void round() {
    if (cancelled_) return;
    uint64_t seen = ctx_.watches.lastIndex();
    bool failed = false;
    QueryAnswer answer = runQuery(spec_->query, &failed);
    if (!blocking_ || failed || spec_->satisfied(answer) || timedOut()) {
      return reply(spec_->finish(std::move(answer)));
    }
    if (!wait(seen)) reply(spec_->finish(std::move(answer)));
  }

  // Joins (or opens) the group of its key, which watches for changes after `seen`. False when
  // the deadline passed meanwhile: the caller replies.
  bool wait(uint64_t seen);

  bool timedOut() const { return std::chrono::steady_clock::now() >= deadline_; }

  void reply(HttpResponse response) {
    if (timer_id_ != 0) ctx_.timers.cancel(timer_id_);
    respond_(std::move(response));
  }

  // Group membership, guarded by FanOut::mu.
  WaitGroup* group_ = nullptr;
  size_t slot_ = 0;  // index in group_->members

 private:
  FanOut& fanOut() const { return *ctx_.fan_out; }

  void expired();
  void cancelled();
  // Leaves the group (under FanOut::mu). Returns the hub watches to cancel once unlocked, and
  // keeps what must be destroyed unlocked in `keep`.
  GroupWatches leaveLocked(std::shared_ptr<WaitGroup>& keep);

  ApiContext& ctx_;
  const bool blocking_;
  // Written only by the thread that runs the query's round (wait() swaps in the group's copy).
  std::shared_ptr<const QuerySpec> spec_;
  Responder respond_;
  SteadyTime deadline_{};
  TimerQueue::TimerId timer_id_ = 0;  // set in arm(), before any other thread sees the query
  std::atomic<bool> expired_{false};
  std::atomic<bool> cancelled_{false};
};

namespace {

// One round for the members of a woken group: the query runs once and its answer is rendered
// once; members whose index moved (or whose wait ended) get copies of it, the others wait again.
void runGroup(const std::shared_ptr<const QuerySpec>& spec, std::vector<QueryPtr> members) {
  uint64_t seen = spec->ctx.watches.lastIndex();
  bool failed = false;
  QueryAnswer answer = runQuery(spec->query, &failed);
  bool done = failed || spec->satisfied(answer);
  std::optional<HttpResponse> rendered;
  auto response = [&]() -> const HttpResponse& {
    if (!rendered) rendered = spec->finish(answer);
    return *rendered;
  };
  for (auto& member : members) {
    if (done || member->timedOut() || !member->wait(seen)) member->reply(response());
  }
}

}  // namespace

void WaitGroup::woken() {
  std::vector<QueryPtr> taken;
  FanOut& fan_out = *spec->ctx.fan_out;
  GroupWatches other;  // the entry that did not fire (cancelling the one that did is harmless)
  {
    std::lock_guard lock(fan_out.mu);
    open = false;
    other = {std::exchange(watch_id, 0), std::exchange(acl_watch_id, 0)};
    auto it = fan_out.groups.find(spec->key);
    if (it != fan_out.groups.end() && it->second.get() == this) fan_out.groups.erase(it);
    taken.swap(members);
    for (auto& member : taken) member->group_ = nullptr;
  }
  other.cancel(spec->ctx.watches);
  if (taken.empty()) return;
  postWork([spec = spec, taken = std::move(taken)]() mutable { runGroup(spec, std::move(taken)); });
}

bool BlockingQuery::wait(uint64_t seen) {
  std::shared_ptr<WaitGroup> created;
  FanOut& fan_out = fanOut();
  {
    std::lock_guard lock(fan_out.mu);
    if (cancelled_) return true;  // the client is gone: nothing to answer
    if (expired_) return false;
    auto& group = fan_out.groups[spec_->key];
    if (!group) {
      group = std::make_shared<WaitGroup>(spec_);
      created = group;
    } else {
      spec_ = group->spec;  // one copy of the query for the whole group
    }
    group_ = group.get();
    slot_ = group->members.size();
    group->members.push_back(shared_from_this());
  }
  if (!created) return true;
  // Unlocked: watch() may call woken() at once, on this thread.
  GroupWatches watches;
  watches.target = ctx_.watches.watch(spec_->target, seen, [created] { created->woken(); });
  if (watches.target == 0) return true;
  if (spec_->watchesAcl()) {
    watches.acl = ctx_.watches.watch(aclChanges(), seen, [created] { created->woken(); });
  }
  {
    std::lock_guard lock(fan_out.mu);
    if (created->open) {
      created->watch_id = watches.target;
      created->acl_watch_id = watches.acl;
      return true;
    }
  }
  watches.cancel(ctx_.watches);  // woken, or every member left, before the watches were recorded
  return true;
}

GroupWatches BlockingQuery::leaveLocked(std::shared_ptr<WaitGroup>& keep) {
  WaitGroup* group = group_;
  if (!group) return {};
  auto& members = group->members;
  auto self = std::move(members[slot_]);
  if (slot_ + 1 != members.size()) {
    members[slot_] = std::move(members.back());
    members[slot_]->slot_ = slot_;
  }
  members.pop_back();
  group_ = nullptr;
  if (!members.empty()) return {};
  // The last member left: close the group and drop its hub entry.
  FanOut& fan_out = fanOut();
  group->open = false;
  auto it = fan_out.groups.find(group->spec->key);
  if (it != fan_out.groups.end() && it->second.get() == group) {
    keep = std::move(it->second);
    fan_out.groups.erase(it);
  }
  return {std::exchange(group->watch_id, 0), std::exchange(group->acl_watch_id, 0)};
}

void BlockingQuery::expired() {
  auto self = shared_from_this();  // leaving the group drops its reference
  std::shared_ptr<WaitGroup> keep;
  GroupWatches watch;
  bool was_waiting = false;
  {
    std::lock_guard lock(fanOut().mu);
    expired_ = true;
    was_waiting = group_ != nullptr;
    watch = leaveLocked(keep);
  }
  watch.cancel(ctx_.watches);
  // Not in a group: a round is running for it and will see the deadline.
  if (!was_waiting) return;
  postWork([self] {
    bool failed = false;
    self->reply(self->spec_->finish(runQuery(self->spec_->query, &failed)));
  });
}

void BlockingQuery::cancelled() {
  auto self = shared_from_this();
  std::shared_ptr<WaitGroup> keep;
  GroupWatches watch;
  {
    std::lock_guard lock(fanOut().mu);
    cancelled_ = true;
    watch = leaveLocked(keep);
  }
  watch.cancel(ctx_.watches);
  ctx_.timers.cancel(timer_id_);
}

std::string fanOutKey(const HttpRequest& request, const QueryOptions& opts) {
  // The query string without the parameters that do not change the answer (wait) or that are
  // taken from opts (index), in a fixed order. Values are compared raw: two spellings of one
  // value only miss a chance to share, they never share wrongly. Repeated names keep their order.
  std::vector<std::string_view> params;
  std::string_view raw = request.raw_query;
  while (!raw.empty()) {
    size_t amp = raw.find('&');
    std::string_view piece = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    std::string_view name = rawParamName(piece);
    if (piece.empty() || name == "wait" || name == "index") continue;
    params.push_back(piece);
  }
  std::stable_sort(params.begin(), params.end(), [](std::string_view a, std::string_view b) {
    return rawParamName(a) < rawParamName(b);
  });
  std::string key;
  addKeyPart(key, request.method);
  addKeyPart(key, request.path);
  for (std::string_view p : params) addKeyPart(key, p);
  addKeyPart(key, consistencyName(opts.mode));
  addKeyPart(key, (opts.until_index_differs ? "!=" : ">") + std::to_string(opts.min_index));
  // The ACL token (ACLs will filter answers by it): the header forms; ?token= is a parameter.
  for (const char* header : {"x-consul-token", "authorization"}) {
    auto it = request.headers.find(header);
    addKeyPart(key, it == request.headers.end() ? std::string_view() : it->second);
  }
  // The client agent a forwarded request came through: /v1/event/list answers for that agent,
  // so a server's and a client's watches of one index must not share an answer.
  addKeyPart(key, request.agent_node);
  return key;
}

void postWork(std::function<void()> work) { sharedIoPool().post(std::move(work)); }

void addReadHeaders(ApiContext& ctx, node::ReadMode mode, uint64_t index, HttpResponse& response) {
  node::LeaderStatus leader = ctx.node.leaderStatus();
  response.setHeader("X-Consul-Index", std::to_string(index == 0 ? 1 : index));
  response.setHeader("X-Consul-KnownLeader", leader.known_leader ? "true" : "false");
  response.setHeader("X-Consul-LastContact", std::to_string(leader.last_contact_ms));
  response.setHeader("X-Consul-Effective-Consistency", consistencyName(mode));
}

void applyPretty(const HttpRequest& request, HttpResponse& response) {
  if (request.query.has("pretty") && response.content_type == "application/json" &&
      !response.body.empty()) {
    response.body = prettyJson(response.body);
  }
}

void serveRead(ApiContext& ctx, const RequestPtr& request, const QueryOptions& opts,
               store::WatchTarget target, QueryFn query, Responder respond) {
  // Only what answering needs is kept, not the request: a waiting query must stay small.
  QuerySpec spec{ctx,
                 opts.blocking ? fanOutKey(*request, opts) : std::string(),
                 std::move(target),
                 opts,
                 request->query.has("pretty"),
                 std::move(query)};
  if (opts.blocking && ctx.acl != nullptr && ctx.acl->enabled()) {
    // After the ACL guard let the request in: a change between the two is caught by the guard's
    // check of the answer, at the latest when the wait ends (acl_enforcer.cc).
    spec.acl_secret = requestToken(*request);
    spec.acl_seen = ctx.acl->fingerprint(spec.acl_secret);
  }
  auto blocking =
      std::make_shared<BlockingQuery>(std::make_shared<const QuerySpec>(std::move(spec)), respond);
  blocking->arm();
  ctx.node.readBarrier(opts.mode, [blocking](Status status) {
    if (!status.isOk()) {
      blocking->reply(textResponse(500, status.message()));
      return;
    }
    blocking->round();
  });
}

}  // namespace cairn::http
