// /v1/health/*: checks by node, service and state, and ServiceEntry lists (docs/consul-api.md §5).
#include "core/http/catalog_json.h"
#include "core/http/catalog_routes.h"
#include "core/http/handlers.h"

namespace cairn::http {
namespace {

using store::CatalogIndex;

std::string checksArray(const std::vector<v1::CatalogCheck>& checks, const ResultFilter& filter) {
  std::vector<std::string> elements;
  for (const auto& c : checks) {
    JsonWriter w;
    writeCheck(w, c);
    elements.push_back(w.take());
  }
  return filter.array(elements);
}

bool allPassing(const store::ServiceInstance& i) {
  for (const auto& c : i.checks) {
    if (c.status() != "passing") return false;
  }
  return true;
}

// ?passing: bare or empty means true, otherwise Go's ParseBool.
StatusOr<bool> passingParam(const QueryParams& q) {
  auto v = q.get("passing");
  if (!v) return false;
  static const std::vector<std::string> kTrue = {"", "1", "t", "T", "TRUE", "true", "True"};
  static const std::vector<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (std::find(kTrue.begin(), kTrue.end(), *v) != kTrue.end()) return true;
  if (std::find(kFalse.begin(), kFalse.end(), *v) != kFalse.end()) return false;
  return invalidArgument("Invalid value for ?passing");
}

QueryFn serviceEntriesQuery(ApiContext& ctx, std::string name, std::vector<std::string> tags,
                            bool passing, ResultFilter filter) {
  return
      [&ctx, name = std::move(name), tags = std::move(tags), passing, filter = std::move(filter)] {
        store::ServiceInstances r = ctx.store.serviceInstances(name, true);
        std::vector<std::string> elements;
        for (const auto& i : r.instances) {
          if (!hasAllTags(i.service, tags) || !filter.nodeMatches(i.node)) continue;
          if (passing && !allPassing(i)) continue;
          JsonWriter w;
          writeServiceEntry(w, i, ctx.agent.datacenter);
          elements.push_back(w.take());
        }
        return QueryAnswer{r.index, jsonResponse(filter.array(elements))};
      };
}

store::WatchTarget serviceTarget(const HttpRequest& req, std::string_view prefix) {
  return store::WatchTarget{store::serviceWatchKey(suffixAfter(req, prefix)), false};
}

}  // namespace

void addHealthRoutes(Router& router, ApiContext& ctx) {
  static constexpr std::string_view kNode = "/v1/health/node/";
  addReadRoute(
      router, ctx, std::string(kNode), true, "Missing node name",
      [](const HttpRequest& req) {
        return store::WatchTarget{store::nodeWatchKey(suffixAfter(req, kNode)), false};
      },
      [&ctx](ReadSetup& s, const HttpRequest& req) -> QueryFn {
        return [&ctx, node = suffixAfter(req, kNode), filter = std::move(s.filter)] {
          store::CheckList r = ctx.store.nodeChecks(node);
          return QueryAnswer{r.index, jsonResponse(checksArray(r.checks, filter))};
        };
      });
  static constexpr std::string_view kChecks = "/v1/health/checks/";
  addReadRoute(
      router, ctx, std::string(kChecks), true, "Missing service name",
      [](const HttpRequest& req) { return serviceTarget(req, kChecks); },
      [&ctx](ReadSetup& s, const HttpRequest& req) -> QueryFn {
        return [&ctx, name = suffixAfter(req, kChecks), filter = std::move(s.filter)] {
          store::CheckList r = ctx.store.serviceChecks(name);
          return QueryAnswer{r.index, jsonResponse(checksArray(r.checks, filter))};
        };
      });
  static constexpr std::string_view kState = "/v1/health/state/";
  addReadRoute(
      router, ctx, std::string(kState), true, "Missing check state",
      [](const HttpRequest&) { return tableTarget(CatalogIndex::kChecks); },
      [&ctx](ReadSetup& s, const HttpRequest& req) -> QueryFn {
        return [&ctx, state = suffixAfter(req, kState), filter = std::move(s.filter)] {
          store::CheckList r = ctx.store.checksInState(state);
          return QueryAnswer{r.index, jsonResponse(checksArray(r.checks, filter))};
        };
      });
  static constexpr std::string_view kService = "/v1/health/service/";
  addReadRoute(
      router, ctx, std::string(kService), true, "Missing service name",
      [](const HttpRequest& req) { return serviceTarget(req, kService); },
      [&ctx](ReadSetup& s, const HttpRequest& req) -> StatusOr<QueryFn> {
        auto passing = passingParam(req.query);
        if (!passing.isOk()) return passing.status();
        return serviceEntriesQuery(ctx, suffixAfter(req, kService), req.query.all("tag"), *passing,
                                   std::move(s.filter));
      });
}

}  // namespace cairn::http
