// /v1/status/*, /v1/agent/self, /metrics: what tooling uses to find and probe the servers.
#include <chrono>
#include <cmath>
#include <ctime>

#include "core/http/agent_routes.h"
#include "core/http/handlers.h"
#include "core/http/json_writer.h"
#include "core/http/read_query.h"

namespace cairn::http {
namespace {

HttpResponse prometheusText(AgentApiContext& ctx) {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = ctx.metrics.render();
  return r;
}

// ---- GET /v1/agent/metrics in Consul's JSON (go-metrics' in-memory sink display format) ----

void writeLabels(JsonWriter& w, const prometheus::ClientMetric& m) {
  w.key("Labels").beginObject();
  for (const auto& label : m.label) w.key(label.name).string(label.value);
  w.endObject();
}

// One Counters or Samples entry: the fields of go-metrics' SampledValue. Cairn keeps totals since
// start, not Consul's 10-second intervals: Count and Sum are totals, Mean is Sum / Count, and
// Rate, Min, Max and Stddev are 0 (docs/configuration.md, "Metrics").
void writeSampled(JsonWriter& w, const std::string& name, const prometheus::ClientMetric& m,
                  uint64_t count, double sum) {
  w.beginObject().key("Name").string(name).key("Count").number(count);
  w.key("Rate").number(0.0).key("Sum").number(sum);
  w.key("Min").number(0.0).key("Max").number(0.0);
  w.key("Mean").number(count == 0 ? 0.0 : sum / static_cast<double>(count));
  w.key("Stddev").number(0.0);
  writeLabels(w, m);
  w.endObject();
}

// Go's time.Time.String() of the current 10-second interval: "2026-12-07 13:50:10 +0000 UTC".
std::string intervalTimestamp() {
  std::time_t now = std::time(nullptr);
  now -= now % 10;
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
  return buf;
}

std::string consulMetricsJson(const std::vector<prometheus::MetricFamily>& families) {
  using prometheus::MetricType;
  JsonWriter gauges, counters, samples;
  gauges.beginArray();
  counters.beginArray();
  samples.beginArray();
  for (const auto& family : families) {
    for (const auto& m : family.metric) {
      switch (family.type) {
        case MetricType::Counter:
          writeSampled(counters, family.name, m,
                       static_cast<uint64_t>(std::llround(std::max(0.0, m.counter.value))),
                       m.counter.value);
          break;
        case MetricType::Histogram:
          writeSampled(samples, family.name, m, m.histogram.sample_count, m.histogram.sample_sum);
          break;
        case MetricType::Summary:
          writeSampled(samples, family.name, m, m.summary.sample_count, m.summary.sample_sum);
          break;
        default:  // gauges and untyped values
          gauges.beginObject().key("Name").string(family.name);
          gauges.key("Value").number(family.type == MetricType::Gauge ? m.gauge.value
                                                                      : m.untyped.value);
          writeLabels(gauges, m);
          gauges.endObject();
      }
    }
  }
  gauges.endArray();
  counters.endArray();
  samples.endArray();
  // JsonWriter has no raw-value insertion, so the object is assembled by hand.
  return "{\"Timestamp\":" + JsonWriter().string(intervalTimestamp()).take() +
         ",\"Gauges\":" + gauges.take() + ",\"Points\":[],\"Counters\":" + counters.take() +
         ",\"Samples\":" + samples.take() + "}";
}

void writeConfig(JsonWriter& w, const AgentInfo& a) {
  w.key("Config").beginObject();
  w.key("Datacenter").string(a.datacenter);
  w.key("PrimaryDatacenter").string(a.datacenter);
  w.key("NodeName").string(a.node_name);
  w.key("NodeID").string(a.node_id);
  w.key("Server").boolean(a.server);
  w.key("Revision").string(a.revision);
  w.key("Version").string(a.version);
  w.key("SessionTTLMin").number(a.session_ttl_min_ns);
  w.endObject();
}

// Stats.storage: this agent's disk (docs/operations.md, "Full disks"). Values are strings, as in
// Consul's Stats.
void writeStorageStats(JsonWriter& w, const storage::StorageHealth* health) {
  if (health == nullptr) return;
  storage::StorageHealth::View v = health->view();
  w.key("Stats").beginObject().key("storage").beginObject();
  w.key("healthy").string(v.healthy() ? "true" : "false");
  w.key("disk_full").string(v.diskFull() ? "true" : "false");
  w.key("write_error").string(v.write_error);
  w.key("corrupted").string(v.corrupted ? "true" : "false");
  w.key("corruption").string(v.corruption);
  w.endObject().endObject();
}

std::string agentSelfJson(const AgentInfo& a, const storage::StorageHealth* health) {
  JsonWriter w;
  w.beginObject();
  writeConfig(w, a);
  writeStorageStats(w, health);
  w.key("DebugConfig").beginObject();
  w.key("Datacenter").string(a.datacenter).key("NodeName").string(a.node_name);
  w.key("SessionTTLMin").string(formatGoDuration(Nanos(a.session_ttl_min_ns)));
  w.key("KVMaxValueSize").number(a.kv_max_value_size);
  w.key("TxnMaxReqLen").number(a.txn_max_req_len);
  w.endObject();
  w.key("Coord").null();
  w.key("Member").beginObject();
  w.key("Name").string(a.node_name).key("Addr").string(a.advertise_addr);
  w.key("Port").number(static_cast<uint64_t>(a.server_port));
  w.key("Tags").beginObject().key("dc").string(a.datacenter);
  w.key("role").string(a.server ? "consul" : "node").key("build").string(a.version).endObject();
  w.key("Status").number(uint64_t{1});
  w.endObject();
  w.key("Meta").beginObject().endObject();
  w.endObject();
  return w.take();
}

void addGet(Router& router, std::string path, std::function<HttpResponse(const HttpRequest&)> fn) {
  router.add(Route{std::move(path), false, {"GET"}, [fn](RequestPtr req, Responder respond) {
                     HttpResponse r = fn(*req);
                     applyPretty(*req, r);
                     respond(std::move(r));
                   }});
}

}  // namespace

Status checkDatacenter(const ApiContext& ctx, const QueryParams& query) {
  auto dc = query.get("dc");
  if (!dc || dc->empty() || *dc == ctx.agent.datacenter) return Status::ok();
  return internalError("No path to datacenter");
}

HttpResponse errorResponse(const Status& status) {
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return textResponse(400, status.message());
    case StatusCode::kNotFound:
      return textResponse(404, status.message());
    case StatusCode::kConflict:
      return textResponse(409, status.message());
    case StatusCode::kTooLarge:
      return textResponse(413, status.message());
    default:
      return textResponse(500, status.message());
  }
}

void addStatusRoutes(Router& router, ApiContext& ctx) {
  addGet(router, "/v1/status/leader", [&ctx](const HttpRequest&) {
    return jsonResponse(JsonWriter().string(ctx.node.leaderStatus().leader_address).take());
  });
  addGet(router, "/v1/status/peers", [&ctx](const HttpRequest&) {
    JsonWriter w;
    w.beginArray();
    for (const auto& v : ctx.node.leaderStatus().voters) w.string(v);
    w.endArray();
    return jsonResponse(w.take());
  });
}

void addAgentSelfRoutes(Router& router, AgentApiContext& ctx) {
  addGet(router, "/v1/agent/self", [&ctx](const HttpRequest&) {
    return jsonResponse(agentSelfJson(ctx.agent, ctx.storage));
  });
  addGet(router, "/metrics", [&ctx](const HttpRequest&) { return prometheusText(ctx); });
  addGet(router, "/v1/agent/metrics", [&ctx](const HttpRequest& req) {
    if (req.query.get("format") == "prometheus") return prometheusText(ctx);
    return jsonResponse(consulMetricsJson(ctx.metrics.collect()));
  });
  addMonitorRoute(router);
}

}  // namespace cairn::http
