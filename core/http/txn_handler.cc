// PUT /v1/txn: atomic multi-operation transactions (docs/consul-api.md §3).
#include "core/base/go_encoding.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/http/kv_json.h"
#include "core/http/kv_key.h"
#include "core/http/read_query.h"
#include "core/store/kv_txn.h"

namespace cairn::http {
namespace {

constexpr size_t kMaxTxnOps = 128;

const std::pair<std::string_view, v1::KvVerb> kVerbs[] = {
    {"set", v1::KV_SET},
    {"cas", v1::KV_CAS},
    {"lock", v1::KV_LOCK},
    {"unlock", v1::KV_UNLOCK},
    {"get", v1::KV_GET},
    {"get-or-empty", v1::KV_GET_OR_EMPTY},
    {"get-tree", v1::KV_GET_TREE},
    {"check-index", v1::KV_CHECK_INDEX},
    {"check-session", v1::KV_CHECK_SESSION},
    {"check-not-exists", v1::KV_CHECK_NOT_EXISTS},
    {"delete", v1::KV_DELETE},
    {"delete-tree", v1::KV_DELETE_TREE},
    {"delete-cas", v1::KV_DELETE_CAS},
};

Status parseFailure(const std::string& why) {
  return invalidArgument("Failed to parse body: " + why);
}

StatusOr<v1::KvVerb> parseVerb(const std::string& verb) {
  for (const auto& [name, value] : kVerbs) {
    if (name == verb) return value;
  }
  return parseFailure("unknown KV verb \"" + verb + "\"");
}

// Decodes one {"KV":{...}} element into `out`.
Status decodeKvOp(const web::json::value& element, uint64_t max_value, v1::KvOp& out) {
  const web::json::value* kv = findField(element, "KV");
  if (!kv || !kv->is_object()) {
    return parseFailure(
        "each operation must be a KV operation (Node, Service and Check "
        "operations arrive with the catalog)");
  }
  auto verb = stringField(*kv, "Verb");
  auto key = stringField(*kv, "Key");
  auto value = stringField(*kv, "Value");
  auto session = stringField(*kv, "Session");
  auto flags = uintField(*kv, "Flags");
  auto index = uintField(*kv, "Index");
  for (const Status* s : {&verb.status(), &key.status(), &value.status(), &session.status(),
                          &flags.status(), &index.status()}) {
    if (!s->isOk()) return parseFailure(s->message());
  }
  auto parsed_verb = parseVerb(verb->value_or(""));
  if (!parsed_verb.isOk()) return parsed_verb.status();
  std::string decoded;
  if (value->has_value()) {
    auto bytes = base64Decode(**value);
    if (!bytes.isOk()) {
      return parseFailure("Value of key \"" + key->value_or("") +
                          "\": " + bytes.status().message());
    }
    decoded = std::move(*bytes);
  }
  if (decoded.size() > max_value) {
    return tooLarge("Value for key \"" + key->value_or("") + "\" is too large (" +
                    std::to_string(decoded.size()) + " > " + std::to_string(max_value) + " bytes)");
  }
  if (Status s = validateKvKey(key->value_or("")); !s.isOk()) return s;
  out.set_verb(*parsed_verb);
  out.set_key(key->value_or(""));
  out.set_value(std::move(decoded));
  out.set_flags(flags->value_or(0));
  out.set_index(index->value_or(0));
  out.set_session(session->value_or(""));
  return Status::ok();
}

StatusOr<v1::Txn> decodeTxn(const std::string& body, uint64_t max_value) {
  auto json = parseJson(body);
  if (!json.isOk()) return parseFailure(json.status().message());
  if (!json->is_array()) return parseFailure("the body must be a JSON array of operations");
  const auto& ops = json->as_array();
  if (ops.size() > kMaxTxnOps) {
    return tooLarge("Transaction contains too many operations (" + std::to_string(ops.size()) +
                    " > " + std::to_string(kMaxTxnOps) + ")");
  }
  v1::Txn txn;
  for (const auto& element : ops) {
    CAIRN_RETURN_IF_ERROR(decodeKvOp(element, max_value, *txn.add_ops()->mutable_kv()));
  }
  return txn;
}

HttpResponse outcomeResponse(const store::TxnOutcome& outcome) {
  return jsonResponse(txnOutcomeJson(outcome), outcome.ok ? 200 : 409);
}

void serveReadOnlyTxn(ApiContext& ctx, RequestPtr req, v1::Txn txn, Responder respond) {
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  opts->blocking = false;  // Read-only transactions never block.
  auto shared = std::make_shared<v1::Txn>(std::move(txn));
  serveRead(
      ctx, req, *opts, {},
      [&ctx, shared] {
        return QueryAnswer{ctx.store.appliedIndex(), outcomeResponse(ctx.store.readTxn(*shared))};
      },
      respond);
}

// Consul's pre-apply check: a lock op on a key under a lock delay fails the whole txn (409)
// before it reaches the log, judged by this server's clock.
store::TxnOutcome lockDelayErrors(ApiContext& ctx, const v1::Txn& txn) {
  store::TxnOutcome outcome;
  for (int i = 0; i < txn.ops_size(); ++i) {
    const v1::KvOp& op = txn.ops(i).kv();
    if (op.verb() != v1::KV_LOCK || !ctx.store.lockDelayed(op.key())) continue;
    outcome.ok = false;
    outcome.errors.push_back(
        {i, "failed to lock key " + goQuote(op.key()) + " due to lock delay", ""});
  }
  return outcome;
}

void txnHandler(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto txn = decodeTxn(req->body, ctx.agent.kv_max_value_size);
  if (!txn.isOk()) return respond(errorResponse(txn.status()));
  ctx.metrics.countKvOperation("txn");
  if (store::isReadOnly(*txn))
    return serveReadOnlyTxn(ctx, std::move(req), std::move(*txn), respond);
  if (store::TxnOutcome delayed = lockDelayErrors(ctx, *txn); !delayed.ok) {
    HttpResponse r = outcomeResponse(delayed);
    applyPretty(*req, r);
    return respond(std::move(r));
  }
  v1::Command cmd;
  *cmd.mutable_txn() = std::move(*txn);
  ctx.node.propose(std::move(cmd), [req, respond](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    HttpResponse r = outcomeResponse(result->outcome);
    r.setHeader("X-Consul-Index", std::to_string(result->index));
    applyPretty(*req, r);
    respond(std::move(r));
  });
}

}  // namespace

void addTxnRoutes(Router& router, ApiContext& ctx) {
  router.add(Route{"/v1/txn",
                   false,
                   {"PUT"},
                   [&ctx](RequestPtr req, Responder respond) {
                     txnHandler(ctx, std::move(req), std::move(respond));
                   },
                   ctx.agent.txn_max_req_len});
}

}  // namespace cairn::http
