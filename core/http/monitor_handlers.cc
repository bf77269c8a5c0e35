// GET /v1/agent/monitor?loglevel=<level>[&logjson]: this agent's log, streamed as it is written
// (Consul's agent monitor). Each request adds a log sink at its own level (core/base/logging.h)
// that queues lines into a BodyStream; the HTTP edge sends them as chunks. No thread waits:
// the sink runs on whatever thread logs, the edge is woken by the stream. The sink is removed
// when the client disconnects (or the server stops), which closes the stream.
#include <atomic>
#include <memory>

#include "core/base/logging.h"
#include "core/http/agent_routes.h"
#include "core/http/body_stream.h"

namespace cairn::http {
namespace {

// Consul keeps 512 lines for a slow client; ours is a byte budget of the same order.
constexpr size_t kMonitorBuffer = 256 * 1024;

struct MonitorState {
  std::shared_ptr<BodyStream> stream;
  bool json = false;
  std::atomic<uint64_t> dropped{0};
};

void sinkRecord(MonitorState& m, const LogRecord& record) {
  if (uint64_t lost = m.dropped.load(std::memory_order_relaxed); lost > 0) {
    std::string note = "Monitor dropped " + std::to_string(lost) + " logs during monitor request\n";
    if (!m.stream->write(note)) return (void)++m.dropped;
    m.dropped -= lost;
  }
  std::string line = m.json ? formatLogJson(record) : formatLogLine(record);
  line.push_back('\n');
  if (!m.stream->write(line)) ++m.dropped;
}

void monitor(RequestPtr req, Responder respond) {
  std::string level_name = req->query.get("loglevel").value_or("info");
  LogLevel level = LogLevel::kInfo;
  if (!parseLogLevel(level_name.empty() ? "info" : level_name, level)) {
    return respond(textResponse(400, "Unknown log level: " + level_name));
  }
  auto state = std::make_shared<MonitorState>();
  state->stream = std::make_shared<BodyStream>(kMonitorBuffer);
  auto json = req->query.get("logjson");
  state->json = json && (json->empty() || *json == "true" || *json == "1");
  uint64_t sink =
      addLogSink(level, [state](const LogRecord& record) { sinkRecord(*state, record); });
  state->stream->onClose([sink] {
    removeLogSink(sink);
    LOG_DEBUG("agent", "monitor ended");
  });
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.stream = state->stream;
  respond(std::move(r));
  LOG_DEBUG("agent", "monitor started at level " << logLevelName(level));
}

}  // namespace

void addMonitorRoute(Router& router) {
  router.add(Route{"/v1/agent/monitor", false, {"GET"}, monitor, Router::kDefaultMaxBody});
}

}  // namespace cairn::http
