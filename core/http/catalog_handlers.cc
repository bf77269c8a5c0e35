// /v1/catalog/*: register, deregister and the catalog reads (docs/consul-api.md §4).
#include "core/http/catalog_json.h"
#include "core/http/catalog_routes.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"

namespace cairn::http {
namespace {

using store::CatalogIndex;

StatusOr<ReadSetup> setupRead(ApiContext& ctx, const HttpRequest& req) {
  CAIRN_RETURN_IF_ERROR(checkDatacenter(ctx, req.query));
  auto opts = parseQueryOptions(req.query);
  if (!opts.isOk()) return opts.status();
  auto filter = ResultFilter::parse(req.query);
  if (!filter.isOk()) return filter.status();
  return ReadSetup{*opts, std::move(*filter)};
}

void catalogRegister(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto body = parseJson(req->body);
  if (!body.isOk()) {
    return respond(textResponse(400, "Request decode failed: " + body.status().message()));
  }
  auto reg = decodeRegister(*body);
  if (!reg.isOk()) return respond(errorResponse(reg.status()));
  if (reg->node().node().empty() || reg->node().address().empty()) {
    return respond(textResponse(400, "Must provide node and address"));
  }
  if (reg->has_service() && reg->service().service().empty()) {
    return respond(textResponse(400, "Must provide service name"));
  }
  v1::Command cmd;
  *cmd.mutable_catalog_register() = std::move(*reg);
  proposeCommand(ctx, std::move(cmd), std::move(respond));
}

void catalogDeregister(ApiContext& ctx, RequestPtr req, Responder respond) {
  if (Status s = checkDatacenter(ctx, req->query); !s.isOk()) return respond(errorResponse(s));
  auto body = parseJson(req->body);
  if (!body.isOk()) {
    return respond(textResponse(400, "Request decode failed: " + body.status().message()));
  }
  v1::Command cmd;
  auto* d = cmd.mutable_catalog_deregister();
  for (auto [field, setter] : std::initializer_list<
           std::pair<const char*, void (v1::CatalogDeregister::*)(const std::string&)>>{
           {"Node", &v1::CatalogDeregister::set_node},
           {"ServiceID", &v1::CatalogDeregister::set_service_id},
           {"CheckID", &v1::CatalogDeregister::set_check_id}}) {
    auto v = stringField(*body, field);
    if (!v.isOk()) {
      return respond(textResponse(400, "Request decode failed: " + v.status().message()));
    }
    if (*v) (d->*setter)(**v);
  }
  if (d->node().empty()) return respond(textResponse(400, "Must provide node"));
  proposeCommand(ctx, std::move(cmd), std::move(respond));
}

QueryFn nodesQuery(ApiContext& ctx, ResultFilter filter) {
  return [&ctx, filter = std::move(filter)] {
    store::NodeList r = ctx.store.catalogNodes();
    std::vector<std::string> elements;
    for (const auto& n : r.nodes) {
      if (!filter.nodeMatches(n)) continue;
      JsonWriter w;
      writeNode(w, n, ctx.agent.datacenter);
      elements.push_back(w.take());
    }
    return QueryAnswer{r.index, jsonResponse(filter.array(elements))};
  };
}

// One ServiceNode JSON per instance of `name` that has `tags` and passes the node filter.
std::vector<std::string> serviceNodeElements(ApiContext& ctx, const store::ServiceInstances& r,
                                             const std::vector<std::string>& tags,
                                             const ResultFilter& filter) {
  std::vector<std::string> elements;
  for (const auto& i : r.instances) {
    if (!hasAllTags(i.service, tags) || !filter.nodeMatches(i.node)) continue;
    JsonWriter w;
    writeServiceNode(w, i.node, i.service, ctx.agent.datacenter);
    elements.push_back(w.take());
  }
  return elements;
}

QueryFn servicesQuery(ApiContext& ctx, ResultFilter filter, bool filtered) {
  return [&ctx, filter = std::move(filter), filtered] {
    store::ServiceTags r = ctx.store.catalogServices();
    JsonWriter w;
    w.beginObject();
    for (const auto& [name, tags] : r.services) {
      if (filtered) {
        store::ServiceInstances instances = ctx.store.serviceInstances(name, false);
        bool any = false;
        for (const auto& e : serviceNodeElements(ctx, instances, {}, filter)) {
          any |= filter.elementMatches(e);
        }
        if (!any) continue;
      }
      w.key(name).beginArray();
      for (const auto& t : tags) w.string(t);
      w.endArray();
    }
    w.endObject();
    return QueryAnswer{r.index, jsonResponse(w.take())};
  };
}

QueryFn serviceQuery(ApiContext& ctx, std::string name, std::vector<std::string> tags,
                     ResultFilter filter) {
  return [&ctx, name = std::move(name), tags = std::move(tags), filter = std::move(filter)] {
    store::ServiceInstances r = ctx.store.serviceInstances(name, false);
    return QueryAnswer{r.index,
                       jsonResponse(filter.array(serviceNodeElements(ctx, r, tags, filter)))};
  };
}

QueryFn nodeQuery(ApiContext& ctx, std::string node, bool services_as_list) {
  return [&ctx, node = std::move(node), services_as_list] {
    store::NodeServices r = ctx.store.nodeServices(node);
    if (!r.node) return QueryAnswer{r.index, jsonResponse("null")};
    JsonWriter w;
    w.beginObject().key("Node");
    writeNode(w, *r.node, ctx.agent.datacenter);
    w.key("Services");
    services_as_list ? w.beginArray() : w.beginObject();
    for (const auto& s : r.services) {
      if (!services_as_list) w.key(s.id());
      writeService(w, s, ctx.agent.datacenter);
    }
    services_as_list ? w.endArray() : w.endObject();
    w.endObject();
    return QueryAnswer{r.index, jsonResponse(w.take())};
  };
}

}  // namespace

bool hasAllTags(const v1::CatalogService& s, const std::vector<std::string>& tags) {
  for (const auto& want : tags) {
    bool found = false;
    for (const auto& t : s.tags()) found |= store::lowercase(t) == store::lowercase(want);
    if (!found) return false;
  }
  return true;
}

std::string suffixAfter(const HttpRequest& req, std::string_view prefix) {
  return req.path.substr(prefix.size());
}

void addReadRoute(Router& router, ApiContext& ctx, std::string path, bool prefix,
                  std::string required, MakeTarget target, MakeQuery make) {
  size_t suffix_at = path.size();
  router.add(Route{std::move(path),
                   prefix,
                   {"GET"},
                   [&ctx, suffix_at, required, target, make](RequestPtr req, Responder respond) {
                     if (!required.empty() && req->path.size() <= suffix_at) {
                       return respond(textResponse(400, required));
                     }
                     auto setup = setupRead(ctx, *req);
                     if (!setup.isOk()) return respond(errorResponse(setup.status()));
                     StatusOr<QueryFn> query = make(*setup, *req);
                     if (!query.isOk()) return respond(errorResponse(query.status()));
                     serveRead(ctx, req, setup->opts, target(*req), std::move(*query), respond);
                   }});
}

store::WatchTarget tableTarget(store::CatalogIndex table) {
  return store::WatchTarget{store::catalogWatchKey(table), false};
}

void proposeCommand(ApiContext& ctx, v1::Command command, Responder respond) {
  ctx.node.propose(std::move(command), [respond](StatusOr<node::ProposeResult> result) {
    if (!result.isOk()) return respond(errorResponse(result.status()));
    const store::TxnOutcome& outcome = result->outcome;
    if (!outcome.ok) {
      respond(textResponse(400, outcome.errors.empty() ? "rejected" : outcome.errors[0].what));
      return;
    }
    respond(jsonResponse("true"));
  });
}

void addCatalogRoutes(Router& router, ApiContext& ctx) {
  router.add(Route{"/v1/catalog/register", false, {"PUT"}, [&ctx](RequestPtr r, Responder res) {
                     catalogRegister(ctx, std::move(r), std::move(res));
                   }});
  router.add(Route{"/v1/catalog/deregister", false, {"PUT"}, [&ctx](RequestPtr r, Responder res) {
                     catalogDeregister(ctx, std::move(r), std::move(res));
                   }});
  router.add(
      Route{"/v1/catalog/datacenters", false, {"GET"}, [&ctx](RequestPtr req, Responder respond) {
              JsonWriter w;
              w.beginArray().string(ctx.agent.datacenter).endArray();
              HttpResponse r = jsonResponse(w.take());
              applyPretty(*req, r);
              respond(std::move(r));
            }});
  addReadRoute(
      router, ctx, "/v1/catalog/nodes", false, "",
      [](const HttpRequest&) { return tableTarget(CatalogIndex::kNodes); },
      [&ctx](ReadSetup& s, const HttpRequest&) { return nodesQuery(ctx, std::move(s.filter)); });
  addReadRoute(
      router, ctx, "/v1/catalog/services", false, "",
      [](const HttpRequest&) { return tableTarget(CatalogIndex::kServices); },
      [&ctx](ReadSetup& s, const HttpRequest& req) {
        bool filtered = req.query.has("filter") || req.query.has("node-meta");
        return servicesQuery(ctx, std::move(s.filter), filtered);
      });
  constexpr std::string_view kService = "/v1/catalog/service/";
  addReadRoute(
      router, ctx, std::string(kService), true, "Missing service name",
      [kService](const HttpRequest& req) {
        return store::WatchTarget{store::serviceWatchKey(suffixAfter(req, kService)), false};
      },
      [&ctx, kService](ReadSetup& s, const HttpRequest& req) {
        return serviceQuery(ctx, suffixAfter(req, kService), req.query.all("tag"),
                            std::move(s.filter));
      });
  for (auto [path, as_list] : {std::pair<std::string_view, bool>{"/v1/catalog/node/", false},
                               {"/v1/catalog/node-services/", true}}) {
    addReadRoute(
        router, ctx, std::string(path), true, "Missing node name",
        [path](const HttpRequest& req) {
          return store::WatchTarget{store::nodeWatchKey(suffixAfter(req, path)), false};
        },
        [&ctx, path, as_list](ReadSetup&, const HttpRequest& req) {
          return nodeQuery(ctx, suffixAfter(req, path), as_list);
        });
  }
}

}  // namespace cairn::http
