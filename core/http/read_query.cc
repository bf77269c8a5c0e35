#include "core/http/read_query.h"

#include <mutex>
#include <random>

#include "core/http/io_pool.h"
#include "core/http/json_writer.h"

namespace cairn::http {
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

// One blocking query in flight. Owned by whichever closure will run it next (a WatchHub waiter,
// a posted task); the timer holds only a weak reference.
class BlockingQuery : public std::enable_shared_from_this<BlockingQuery> {
 public:
  BlockingQuery(ApiContext& ctx, RequestPtr request, QueryOptions opts, store::WatchTarget target,
                QueryFn query, Responder respond)
      : ctx_(ctx),
        request_(std::move(request)),
        opts_(opts),
        target_(std::move(target)),
        query_(std::move(query)),
        respond_(std::move(respond)),
        deadline_(std::chrono::steady_clock::now() + opts.wait + jitterFor(opts.wait)) {}

  // Runs the query; replies if it is done, otherwise waits for a change or the deadline.
  void round() {
    uint64_t seen = ctx_.watches.lastIndex();
    bool failed = false;
    QueryAnswer answer = runQuery(query_, &failed);
    bool timed_out = std::chrono::steady_clock::now() >= deadline_;
    bool changed = opts_.until_index_differs ? answer.index != opts_.min_index
                                             : answer.index > opts_.min_index;
    if (!opts_.blocking || changed || timed_out || failed) {
      reply(std::move(answer));
      return;
    }
    auto self = shared_from_this();
    // No lock held here: watch() may call woken() at once on this thread.
    auto id = ctx_.watches.watch(target_, seen, [self] { self->woken(); });
    if (id == 0) return;  // Already woken: a posted round owns the query now.
    std::weak_ptr<BlockingQuery> weak = self;
    auto timer = ctx_.timers.schedule(deadline_, [weak, id] {
      if (auto query = weak.lock()) query->expired(id);
    });
    // A stale timer (its wake-up already happened) is harmless: expired() finds the watch gone.
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
    if (!ctx_.watches.cancel(id)) return;  // The wake-up won the race.
    auto self = shared_from_this();
    postWork([self] {
      bool failed = false;
      self->reply(runQuery(self->query_, &failed));
    });
  }

  void reply(QueryAnswer answer) {
    addReadHeaders(ctx_, opts_.mode, answer.index, answer.response);
    applyPretty(*request_, answer.response);
    respond_(std::move(answer.response));
  }

  ApiContext& ctx_;
  RequestPtr request_;
  QueryOptions opts_;
  store::WatchTarget target_;
  QueryFn query_;
  Responder respond_;
  SteadyTime deadline_;
  std::mutex mu_;  // guards timer_id_
  TimerQueue::TimerId timer_id_ = 0;
};

}  // namespace

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
  auto blocking = std::make_shared<BlockingQuery>(ctx, request, opts, std::move(target),
                                                  std::move(query), respond);
  ctx.node.readBarrier(opts.mode, [blocking, respond](Status status) {
    if (!status.isOk()) {
      respond(textResponse(500, status.message()));
      return;
    }
    blocking->round();
  });
}

}  // namespace cairn::http
