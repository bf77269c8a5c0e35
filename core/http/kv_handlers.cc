// GET/PUT/DELETE /v1/kv/<key>: Consul's KV API (docs/consul-api.md §2).
#include "core/base/go_encoding.h"
#include "core/http/handlers.h"
#include "core/http/kv_json.h"
#include "core/http/kv_key.h"
#include "core/http/read_query.h"

namespace cairn::http {
namespace {

constexpr std::string_view kKvPrefix = "/v1/kv/";

std::string keyOf(const HttpRequest& req) { return req.path.substr(kKvPrefix.size()); }

QueryAnswer notFound(uint64_t index) { return QueryAnswer{index, textResponse(404, "")}; }

QueryFn keysQuery(ApiContext& ctx, std::string prefix, std::string separator) {
  return [&ctx, prefix = std::move(prefix), separator = std::move(separator)] {
    store::KvKeysResult r = ctx.store.keys(prefix, separator);
    if (r.keys.empty() && !prefix.empty()) return notFound(r.index);
    JsonWriter w;
    w.beginArray();
    for (const auto& k : r.keys) w.string(k);
    w.endArray();
    return QueryAnswer{r.index, jsonResponse(w.take())};
  };
}

QueryFn listQuery(ApiContext& ctx, std::string prefix) {
  return [&ctx, prefix = std::move(prefix)] {
    store::KvListResult r = ctx.store.list(prefix);
    if (r.entries.empty()) return notFound(r.index);
    return QueryAnswer{r.index, jsonResponse(kvEntriesJson(r.entries))};
  };
}

HttpResponse rawValue(const std::string& value) {
  HttpResponse r;
  r.content_type = "text/plain";
  r.body = value;
  r.setHeader("X-Content-Type-Options", "nosniff");
  r.setHeader("Content-Security-Policy", "sandbox");
  return r;
}

QueryFn getQuery(ApiContext& ctx, std::string key, bool raw) {
  return [&ctx, key = std::move(key), raw] {
    store::KvGetResult r = ctx.store.get(key);
    if (!r.found) return notFound(r.index);
    if (raw) return QueryAnswer{r.index, rawValue(r.entry.value)};
    return QueryAnswer{r.index, jsonResponse(kvEntriesJson({r.entry}))};
  };
}

void kvGet(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  std::string key = keyOf(*req);
  const QueryParams& q = req->query;
  bool keys = q.has("keys"), recurse = q.has("recurse");
  if (key.empty() && !keys && !recurse) return respond(textResponse(400, "Missing key name"));
  if (Status s = validateKvKey(key); !s.isOk()) return respond(errorResponse(s));
  auto opts = parseQueryOptions(q);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  if (keys) {
    std::string sep = q.get("separator").value_or(q.get("seperator").value_or(""));
    ctx.metrics.countKvOperation("keys");
    return serveRead(ctx, req, *opts, {key, true}, keysQuery(ctx, key, sep), respond);
  }
  if (recurse) {
    ctx.metrics.countKvOperation("list");
    return serveRead(ctx, req, *opts, {key, true}, listQuery(ctx, key), respond);
  }
  ctx.metrics.countKvOperation("get");
  serveRead(ctx, req, *opts, {key, false}, getQuery(ctx, key, q.has("raw")), respond);
}

// Parses an optional unsigned parameter; a present but malformed value is a 400.
Status optionalUint(const QueryParams& q, std::string_view name, std::optional<uint64_t>& out) {
  auto text = q.get(name);
  if (!text) return Status::ok();
  out = parseUint64(*text);
  if (!out) return invalidArgument("Invalid " + std::string(name) + " value: \"" + *text + "\"");
  return Status::ok();
}

Status conflictingFlags(const HttpRequest& req) {
  return invalidArgument("Conflicting flags: " + req.raw_query + "\n");
}

// Proposes a one-op transaction and answers "true"/"false" (false when its precondition failed).
void proposeKvWrite(ApiContext& ctx, v1::KvOp op, Responder respond) {
  v1::Command cmd;
  *cmd.mutable_txn()->add_ops()->mutable_kv() = std::move(op);
  ctx.node.propose(std::move(cmd), [respond](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    respond(jsonResponse(result->outcome.ok ? "true" : "false"));
  });
}

// Proposes a lock/unlock op (?acquire=, ?release=) and answers "true"/"false". An acquire naming
// a session that does not exist answers 500 'invalid session "<id>"', as Consul does.
void proposeLockWrite(ApiContext& ctx, v1::KvOp op, Responder respond) {
  if (op.session().empty()) return respond(textResponse(500, "missing session"));
  // Consul enforces lock delays before the write reaches the log, on the server's clock.
  if (op.verb() == v1::KV_LOCK && ctx.store.lockDelayed(op.key())) {
    return respond(jsonResponse("false"));
  }
  v1::Command cmd;
  *cmd.mutable_txn()->add_ops()->mutable_kv() = std::move(op);
  ctx.node.propose(std::move(cmd), [respond](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    const store::TxnOutcome& outcome = result->outcome;
    if (!outcome.ok && !outcome.errors.empty() && !outcome.errors[0].unknown_session.empty()) {
      return respond(
          textResponse(500, "invalid session " + goQuote(outcome.errors[0].unknown_session)));
    }
    respond(jsonResponse(outcome.ok ? "true" : "false"));
  });
}

void kvPut(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  std::string key = keyOf(*req);
  const QueryParams& q = req->query;
  if (key.empty()) return respond(textResponse(400, "Missing key name"));
  if (Status s = validateKvKey(key); !s.isOk()) return respond(errorResponse(s));
  int modes = q.has("cas") + q.has("acquire") + q.has("release");
  if (modes > 1) return respond(errorResponse(conflictingFlags(*req)));
  std::optional<uint64_t> flags, cas;
  if (Status s = optionalUint(q, "flags", flags); !s.isOk()) return respond(errorResponse(s));
  if (Status s = optionalUint(q, "cas", cas); !s.isOk()) return respond(errorResponse(s));
  // The body size limit (kv_max_value_size) is enforced by the server from the route.
  v1::KvOp op;
  if (q.has("acquire") || q.has("release")) {
    bool acquire = q.has("acquire");
    op.set_verb(acquire ? v1::KV_LOCK : v1::KV_UNLOCK);
    op.set_key(key);
    op.set_value(req->body);
    op.set_flags(flags.value_or(0));
    op.set_session(*q.get(acquire ? "acquire" : "release"));
    ctx.metrics.countKvOperation(acquire ? "acquire" : "release");
    return proposeLockWrite(ctx, std::move(op), respond);
  }
  op.set_verb(cas ? v1::KV_CAS : v1::KV_SET);
  op.set_key(key);
  op.set_value(req->body);
  op.set_flags(flags.value_or(0));
  op.set_index(cas.value_or(0));
  ctx.metrics.countKvOperation(cas ? "cas" : "put");
  proposeKvWrite(ctx, std::move(op), respond);
}

void kvDelete(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  std::string key = keyOf(*req);
  const QueryParams& q = req->query;
  bool recurse = q.has("recurse");
  if (key.empty() && !recurse) return respond(textResponse(400, "Missing key name"));
  if (Status s = validateKvKey(key); !s.isOk()) return respond(errorResponse(s));
  if (recurse && q.has("cas")) return respond(errorResponse(conflictingFlags(*req)));
  std::optional<uint64_t> cas;
  if (Status s = optionalUint(q, "cas", cas); !s.isOk()) return respond(errorResponse(s));
  v1::KvOp op;
  op.set_key(key);
  op.set_verb(recurse ? v1::KV_DELETE_TREE : cas ? v1::KV_DELETE_CAS : v1::KV_DELETE);
  op.set_index(cas.value_or(0));
  ctx.metrics.countKvOperation(recurse ? "delete_tree" : "delete");
  proposeKvWrite(ctx, std::move(op), respond);
}

}  // namespace

void addKvRoutes(Router& router, ApiContext& ctx) {
  router.add(Route{std::string(kKvPrefix),
                   true,
                   {"GET", "PUT", "DELETE"},
                   [&ctx](RequestPtr req, Responder respond) {
                     if (req->method == "GET")
                       return kvGet(ctx, std::move(req), std::move(respond));
                     if (req->method == "PUT")
                       return kvPut(ctx, std::move(req), std::move(respond));
                     kvDelete(ctx, std::move(req), std::move(respond));
                   },
                   ctx.agent.kv_max_value_size});
}

}  // namespace cairn::http
