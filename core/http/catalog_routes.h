#pragma once
// Shared by the catalog, health and agent handlers: the common read setup of list endpoints and
// the registration of a blocking GET route.

#include <functional>
#include <string>

#include "core/http/api_context.h"
#include "core/http/query_options.h"
#include "core/http/read_query.h"
#include "core/http/result_filter.h"
#include "core/http/router.h"
#include "core/store/catalog_table.h"

namespace cairn::http {

// What every catalog/health read parses first: ?dc, the read options and the result filters.
struct ReadSetup {
  QueryOptions opts;
  ResultFilter filter;
};

// Builds the query of one request; an error (e.g. a bad endpoint-specific parameter) is answered
// as errorResponse() maps it.
using MakeQuery = std::function<StatusOr<QueryFn>(ReadSetup&, const HttpRequest&)>;
using MakeTarget = std::function<store::WatchTarget(const HttpRequest&)>;

// A GET route (exact or prefix) served by serveRead: the query `make` builds, watched on
// `target`. For a prefix route with a non-empty `required`, an empty suffix answers 400 with it.
void addReadRoute(Router& router, ApiContext& ctx, std::string path, bool prefix,
                  std::string required, MakeTarget target, MakeQuery make);

// The watch target of a whole catalog table.
store::WatchTarget tableTarget(store::CatalogIndex table);

// True when the service carries every tag in `tags` (?tag=, repeatable; case-insensitive).
bool hasAllTags(const v1::CatalogService& service, const std::vector<std::string>& tags);

// The path after `prefix` (the route's pattern).
std::string suffixAfter(const HttpRequest& req, std::string_view prefix);

}  // namespace cairn::http
