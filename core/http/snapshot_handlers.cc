// GET/PUT /v1/snapshot (docs/consul-api.md §9): the whole state as a gzip-compressed image, and
// restoring one. A restore is a Restore command proposed through the log like every write, so
// every server applies it at the same index; it wakes every blocking query.
#include <chrono>

#include "core/base/gzip.h"
#include "core/http/handlers.h"
#include "core/http/read_query.h"
#include "core/store/state_image.h"

namespace cairn::http {
namespace {

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Runs on ctx.slow_work: an image of a large store takes a while (it must not hold one of the
// few HTTP pool threads), and readBarrier() may call back on the Raft thread.
HttpResponse snapshotResponse(ApiContext& ctx, node::ReadMode mode) {
  auto start = std::chrono::steady_clock::now();
  uint64_t index = 0;
  std::string image = ctx.store.image(&index);
  ctx.metrics.observeSnapshotSave(secondsSince(start));
  HttpResponse r;
  r.content_type = "application/x-gzip";
  r.body = gzipCompress(image);
  addReadHeaders(ctx, mode, index, r);
  return r;
}

void snapshotGet(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto opts = parseQueryOptions(req->query);
  if (!opts.isOk()) return respond(errorResponse(opts.status()));
  node::ReadMode mode = opts->mode;
  ctx.node.readBarrier(mode, [&ctx, mode, respond](Status status) {
    if (!status.isOk()) return respond(textResponse(500, status.message()));
    ctx.slow_work.post([&ctx, mode, respond] { respond(snapshotResponse(ctx, mode)); });
  });
}

// Runs on ctx.slow_work: gunzipping and checking an image of up to 256 MiB takes a while.
void restoreSnapshot(ApiContext& ctx, RequestPtr req, Responder respond) {
  // Validated here, before anything is proposed; apply() checks again (deterministically).
  auto image = store::decodeSnapshot(req->body);
  if (!image.isOk()) return respond(errorResponse(image.status()));
  v1::Command cmd;
  cmd.mutable_restore()->set_image(std::move(*image));
  auto start = std::chrono::steady_clock::now();
  ctx.node.propose(std::move(cmd), [&ctx, respond, start](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    if (!result->outcome.ok) {
      const auto& errors = result->outcome.errors;
      return respond(textResponse(500, errors.empty() ? "restore failed" : errors[0].what));
    }
    ctx.metrics.observeSnapshotRestore(secondsSince(start));
    respond(textResponse(200, ""));
  });
}

void snapshotPut(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  ctx.slow_work.post([&ctx, req = std::move(req), respond = std::move(respond)] {
    restoreSnapshot(ctx, req, respond);
  });
}

}  // namespace

void addSnapshotRoutes(Router& router, ApiContext& ctx) {
  router.add(Route{"/v1/snapshot",
                   false,
                   {"GET", "PUT"},
                   [&ctx](RequestPtr req, Responder respond) {
                     if (req->method == "GET") return snapshotGet(ctx, req, std::move(respond));
                     snapshotPut(ctx, std::move(req), std::move(respond));
                   },
                   kMaxSnapshotBody});
}

}  // namespace cairn::http
