// /v1/agent/*: the local registry's HTTP API (docs/consul-api.md §6, §12, docs/agent.md). Reads
// are served from the local registry and carry no index headers.
#include <algorithm>

#include "core/http/agent_handlers_json.h"
#include "core/http/agent_routes.h"
#include "core/http/catalog_json.h"
#include "core/http/catalog_routes.h"
#include "core/http/handlers.h"
#include "core/http/json_reader.h"
#include "core/http/read_query.h"
#include "core/http/result_filter.h"

namespace cairn::http {
namespace {

using Fn = std::function<HttpResponse(const HttpRequest&)>;

void addRoute(Router& router, std::string path, bool prefix, std::vector<std::string> methods,
              Fn fn) {
  router.add(Route{std::move(path), prefix, std::move(methods),
                   [fn = std::move(fn)](RequestPtr req, Responder respond) {
                     HttpResponse r = fn(*req);
                     applyPretty(*req, r);
                     respond(std::move(r));
                   }});
}

// A route whose handler writes the local registry to disk with a synced RocksDB write: it runs
// on `worker`, since an fsync must not hold one of the few HTTP pool threads.
void addDiskRoute(Router& router, SerialWorker& worker, std::string path, bool prefix,
                  std::vector<std::string> methods, Fn fn) {
  router.add(Route{std::move(path), prefix, std::move(methods),
                   [&worker, fn = std::move(fn)](RequestPtr req, Responder respond) {
                     worker.post([fn, req = std::move(req), respond = std::move(respond)] {
                       HttpResponse r = fn(*req);
                       applyPretty(*req, r);
                       respond(std::move(r));
                     });
                   }});
}

HttpResponse ok() { return HttpResponse{200, "application/json", {}, ""}; }
HttpResponse answer(const Status& s) { return s.isOk() ? ok() : errorResponse(s); }

// Go's strconv.ParseBool.
std::optional<bool> parseBool(const std::string& v) {
  static const std::vector<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::vector<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (std::find(kTrue.begin(), kTrue.end(), v) != kTrue.end()) return true;
  if (std::find(kFalse.begin(), kFalse.end(), v) != kFalse.end()) return false;
  return std::nullopt;
}

StatusOr<bool> enableParam(const QueryParams& q) {
  auto v = q.get("enable");
  if (!v) return invalidArgument("Missing value for enable");
  auto b = parseBool(*v);
  if (!b) return invalidArgument("Invalid value for enable: \"" + *v + "\"");
  return *b;
}

StatusOr<web::json::value> bodyJson(const HttpRequest& req) {
  auto body = parseJson(req.body.empty() ? "{}" : req.body);
  if (!body.isOk()) return invalidArgument("Request decode failed: " + body.status().message());
  return body;
}

// ---- reads ----

HttpResponse servicesMap(AgentApiContext& ctx, local::LocalAgent& agent, const HttpRequest& req) {
  auto filter = ResultFilter::parse(req.query);
  if (!filter.isOk()) return errorResponse(filter.status());
  // JsonWriter has no raw-value insertion, so the map is assembled by hand.
  std::string out = "{";
  bool first = true;
  for (const auto& s : agent.services()) {
    JsonWriter one;
    writeAgentService(one, s, ctx.agent.datacenter, false);
    if (!filter->elementMatches(one.str())) continue;
    if (!first) out += ",";
    first = false;
    out += JsonWriter().string(s.id()).take() + ":" + one.take();
  }
  out += "}";
  return jsonResponse(out);
}

HttpResponse checksMap(local::LocalAgent& agent, const HttpRequest& req) {
  auto filter = ResultFilter::parse(req.query);
  if (!filter.isOk()) return errorResponse(filter.status());
  std::string out = "{";
  bool first = true;
  for (const auto& c : agent.checks()) {
    JsonWriter one;
    writeCheck(one, c);
    if (!filter->elementMatches(one.str())) continue;
    if (!first) out += ",";
    first = false;
    out += JsonWriter().string(c.check_id()).take() + ":" + one.take();
  }
  out += "}";
  return jsonResponse(out);
}

HttpResponse oneService(AgentApiContext& ctx, local::LocalAgent& agent, const std::string& id) {
  auto s = agent.service(id);
  if (!s) return textResponse(404, "unknown service ID: " + id);
  JsonWriter w;
  writeAgentService(w, *s, ctx.agent.datacenter, true);
  return jsonResponse(w.take());
}

// ---- local service health ----

// Go api's AggregatedStatus over the instance's checks (node checks included).
std::string aggregatedStatus(const std::vector<v1::CatalogCheck>& checks) {
  bool critical = false, warning = false;
  for (const auto& c : checks) {
    if (c.check_id() == local::kNodeMaintenanceCheckId ||
        c.check_id().rfind(local::kServiceMaintenancePrefix, 0) == 0) {
      return "maintenance";
    }
    critical |= c.status() == "critical";
    warning |= c.status() == "warning";
  }
  return critical ? "critical" : warning ? "warning" : "passing";
}

int rank(const std::string& status) {
  if (status == "maintenance") return 3;
  if (status == "critical") return 2;
  return status == "warning" ? 1 : 0;
}

int healthCode(const std::string& status) {
  if (status == "passing") return 200;
  return status == "warning" ? 429 : 503;
}

bool wantsText(const HttpRequest& req) {
  if (req.query.get("format") == "text") return true;
  auto accept = req.headers.find("accept");
  return accept != req.headers.end() && accept->second.find("text/plain") != std::string::npos;
}

// One {AggregatedStatus, Service, Checks} object; returns its status.
std::string writeHealthEntry(JsonWriter& w, AgentApiContext& ctx, local::LocalAgent& agent,
                             const v1::CatalogService& s) {
  std::vector<v1::CatalogCheck> checks = agent.nodeChecks();
  for (auto& c : agent.serviceChecks(s.id())) checks.push_back(std::move(c));
  std::string status = aggregatedStatus(checks);
  w.beginObject().key("AggregatedStatus").string(status).key("Service");
  writeAgentService(w, s, ctx.agent.datacenter, false);
  w.key("Checks").beginArray();
  for (const auto& c : checks) writeCheck(w, c);
  w.endArray().endObject();
  return status;
}

HttpResponse healthResponse(const HttpRequest& req, const std::string& status, std::string json) {
  if (wantsText(req)) return textResponse(healthCode(status), status);
  return jsonResponse(std::move(json), healthCode(status));
}

HttpResponse healthById(AgentApiContext& ctx, local::LocalAgent& agent, const HttpRequest& req,
                        const std::string& id) {
  if (id.empty()) return textResponse(400, "Missing serviceID");
  auto s = agent.service(id);
  if (!s) return textResponse(404, "ServiceId " + id + " not found");
  JsonWriter w;
  std::string status = writeHealthEntry(w, ctx, agent, *s);
  return healthResponse(req, status, w.take());
}

HttpResponse healthByName(AgentApiContext& ctx, local::LocalAgent& agent, const HttpRequest& req,
                          const std::string& name) {
  if (name.empty()) return textResponse(400, "Missing service Name");
  JsonWriter w;
  w.beginArray();
  std::string worst;
  for (const auto& s : agent.services()) {
    if (s.service() != name) continue;
    std::string status = writeHealthEntry(w, ctx, agent, s);
    if (worst.empty() || rank(status) > rank(worst)) worst = status;
  }
  w.endArray();
  if (worst.empty()) return textResponse(404, "ServiceName " + name + " Not Found");
  return healthResponse(req, worst, w.take());
}

// ---- writes ----

HttpResponse registerService(local::LocalAgent& agent, const HttpRequest& req) {
  auto body = bodyJson(req);
  if (!body.isOk()) return errorResponse(body.status());
  auto reg = decodeServiceRegistration(*body);
  if (!reg.isOk()) return errorResponse(reg.status());
  auto replace = req.query.get("replace-existing-checks");
  bool replace_checks = replace && (replace->empty() || parseBool(*replace).value_or(false));
  return answer(agent.addService(std::move(*reg), replace_checks));
}

HttpResponse registerCheck(local::LocalAgent& agent, const HttpRequest& req) {
  auto body = bodyJson(req);
  if (!body.isOk()) return errorResponse(body.status());
  auto reg = decodeCheckRegistration(*body);
  if (!reg.isOk()) return errorResponse(reg.status());
  return answer(agent.addCheck(std::move(*reg)));
}

HttpResponse ttlUpdate(local::LocalAgent& agent, const std::string& id, health::CheckStatus status,
                       const std::string& output) {
  return answer(agent.updateTtl(id, status, output));
}

HttpResponse checkUpdate(local::LocalAgent& agent, const HttpRequest& req, const std::string& id) {
  auto body = bodyJson(req);
  if (!body.isOk()) return errorResponse(body.status());
  auto status = stringField(*body, "Status");
  auto output = stringField(*body, "Output");
  if (!status.isOk() || !output.isOk()) {
    return textResponse(400, "Request decode failed: Status and Output must be strings");
  }
  std::string name = status->value_or("");
  auto parsed = health::parseCheckStatus(name);
  if (!parsed.isOk()) return textResponse(400, "Invalid check status: '" + name + "'");
  return ttlUpdate(agent, id, *parsed, output->value_or(""));
}

void addTtlRoutes(Router& router, local::LocalAgent& agent) {
  for (auto [verb, status] : {std::pair{"pass", health::CheckStatus::kPassing},
                              std::pair{"warn", health::CheckStatus::kWarning},
                              std::pair{"fail", health::CheckStatus::kCritical}}) {
    std::string prefix = std::string("/v1/agent/check/") + verb + "/";
    addRoute(router, prefix, true, {"PUT", "GET"},
             [&agent, prefix, status = status](const HttpRequest& req) {
               return ttlUpdate(agent, suffixAfter(req, prefix), status,
                                req.query.get("note").value_or(""));
             });
  }
  static constexpr std::string_view kUpdate = "/v1/agent/check/update/";
  addRoute(router, std::string(kUpdate), true, {"PUT"}, [&agent](const HttpRequest& req) {
    return checkUpdate(agent, req, suffixAfter(req, kUpdate));
  });
}

void addRegistrationRoutes(Router& router, SerialWorker& disk, local::LocalAgent& agent) {
  addDiskRoute(router, disk, "/v1/agent/service/register", false, {"PUT"},
               [&agent](const HttpRequest& req) { return registerService(agent, req); });
  static constexpr std::string_view kDeregService = "/v1/agent/service/deregister/";
  addDiskRoute(router, disk, std::string(kDeregService), true, {"PUT", "GET"},
               [&agent](const HttpRequest& req) {
                 return answer(agent.removeService(suffixAfter(req, kDeregService)));
               });
  addDiskRoute(router, disk, "/v1/agent/check/register", false, {"PUT"},
               [&agent](const HttpRequest& req) { return registerCheck(agent, req); });
  static constexpr std::string_view kDeregCheck = "/v1/agent/check/deregister/";
  addDiskRoute(router, disk, std::string(kDeregCheck), true, {"PUT", "GET"},
               [&agent](const HttpRequest& req) {
                 return answer(agent.removeCheck(suffixAfter(req, kDeregCheck)));
               });
}

void addMaintenanceRoutes(Router& router, SerialWorker& disk, local::LocalAgent& agent) {
  addDiskRoute(
      router, disk, "/v1/agent/maintenance", false, {"PUT"}, [&agent](const HttpRequest& req) {
        auto enable = enableParam(req.query);
        if (!enable.isOk()) return errorResponse(enable.status());
        return answer(agent.setNodeMaintenance(*enable, req.query.get("reason").value_or("")));
      });
  static constexpr std::string_view kService = "/v1/agent/service/maintenance/";
  addDiskRoute(
      router, disk, std::string(kService), true, {"PUT"}, [&agent](const HttpRequest& req) {
        std::string id = suffixAfter(req, kService);
        if (id.empty()) return textResponse(400, "Missing service ID");
        auto enable = enableParam(req.query);
        if (!enable.isOk()) return errorResponse(enable.status());
        return answer(
            agent.setServiceMaintenance(id, *enable, req.query.get("reason").value_or("")));
      });
}

// A client agent has no gossip layer and cannot act for the cluster: it answers clearly.
}  // namespace

void addAgentRoutes(Router& router, AgentApiContext& ctx, local::LocalAgent& agent,
                    std::function<Status()> reload) {
  addRoute(router, "/v1/agent/services", false, {"GET"},
           [&ctx, &agent](const HttpRequest& req) { return servicesMap(ctx, agent, req); });
  static constexpr std::string_view kService = "/v1/agent/service/";
  addRoute(router, std::string(kService), true, {"GET"}, [&ctx, &agent](const HttpRequest& req) {
    return oneService(ctx, agent, suffixAfter(req, kService));
  });
  addRoute(router, "/v1/agent/checks", false, {"GET"},
           [&agent](const HttpRequest& req) { return checksMap(agent, req); });
  static constexpr std::string_view kById = "/v1/agent/health/service/id/";
  addRoute(router, std::string(kById), true, {"GET"}, [&ctx, &agent](const HttpRequest& req) {
    return healthById(ctx, agent, req, suffixAfter(req, kById));
  });
  static constexpr std::string_view kByName = "/v1/agent/health/service/name/";
  addRoute(router, std::string(kByName), true, {"GET"}, [&ctx, &agent](const HttpRequest& req) {
    return healthByName(ctx, agent, req, suffixAfter(req, kByName));
  });
  addRoute(router, "/v1/agent/reload", false, {"PUT"}, [&agent, reload](const HttpRequest&) {
    if (reload) {
      Status s = reload();
      if (!s.isOk()) return textResponse(500, "Failed reloading config: " + s.message());
    }
    agent.syncNow();
    return ok();
  });
  addRegistrationRoutes(router, ctx.slow_work, agent);
  addTtlRoutes(router, agent);
  addMaintenanceRoutes(router, ctx.slow_work, agent);
}

}  // namespace cairn::http
