#pragma once
// serveRead: the one way query endpoints answer, including Consul blocking queries. A waiting
// query is a small record in the WatchHub plus a timer, never a thread: the handler returns at
// once and the reply is sent later from whichever thread wakes it.

#include <functional>

#include "core/http/api_context.h"
#include "core/http/http_types.h"
#include "core/http/query_options.h"
#include "core/store/watch_hub.h"

namespace cairn::http {

// The result of running a query once: the response and the index of the data it reflects.
struct QueryAnswer {
  uint64_t index = 1;
  HttpResponse response;
};
using QueryFn = std::function<QueryAnswer()>;

// Waits for the read barrier of opts.mode, runs `query`, and replies. When opts.blocking, it
// instead re-runs `query` whenever `target` changes until the answer's index exceeds
// opts.min_index or the wait (plus up to wait/16 jitter) elapses. Adds X-Consul-Index,
// X-Consul-KnownLeader, X-Consul-LastContact and X-Consul-Effective-Consistency.
//
// Waiting queries with the same fanOutKey() form one group: one WatchHub entry, and on a change
// the query runs once and its rendered answer goes to every member. A waiting query keeps only
// its responder, deadline and timer (not the request); if the client goes away
// (Responder::cancel) it leaves its group and is released at once.
void serveRead(ApiContext& ctx, const RequestPtr& request, const QueryOptions& opts,
               store::WatchTarget target, QueryFn query, Responder respond);

// The fan-out key of a blocking query: requests with equal keys get the same answer, so waiters
// that share a key share one watch and one rendered answer per wake-up. Method, decoded path,
// query parameters (raw, sorted by name; `wait` left out since it changes only the deadline),
// consistency mode, target index, the ACL token (X-Consul-Token, Authorization) and the client
// agent that forwarded the request (HttpRequest::agent_node).
std::string fanOutKey(const HttpRequest& request, const QueryOptions& opts);

// Adds the index and leadership headers of a read answered at `index`.
void addReadHeaders(ApiContext& ctx, node::ReadMode mode, uint64_t index, HttpResponse& response);

// Runs `work` on the shared I/O pool (sharedIoPool(); never inline on the caller's thread).
void postWork(std::function<void()> work);

// Re-indents JSON bodies when the request has ?pretty.
void applyPretty(const HttpRequest& request, HttpResponse& response);

}  // namespace cairn::http
