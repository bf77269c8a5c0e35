#include "core/metrics/metrics.h"

#include <prometheus/text_serializer.h>

namespace cairn::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// 50 µs .. ~26 s, doubling: covers an in-memory read up to a slow blocking query hand-off.
Histogram::BucketBoundaries latencyBuckets() {
  Histogram::BucketBoundaries b;
  for (double v = 0.00005; v < 30; v *= 2) b.push_back(v);
  return b;
}

}  // namespace

Metrics::Metrics(std::string_view version, std::string_view revision)
    : registry_(std::make_shared<prometheus::Registry>()),
      http_requests_(BuildCounter()
                         .Name("cairn_http_requests_total")
                         .Help("HTTP requests answered, by route template, method and status code")
                         .Register(*registry_)),
      http_duration_(BuildHistogram()
                         .Name("cairn_http_request_duration_seconds")
                         .Help("Time from receiving an HTTP request to replying, by route template")
                         .Register(*registry_)),
      kv_operations_(BuildCounter()
                         .Name("cairn_kv_operations_total")
                         .Help("KV operations served, by operation")
                         .Register(*registry_)),
      apply_duration_(BuildHistogram()
                          .Name("cairn_apply_duration_seconds")
                          .Help("Time to apply one batch of committed log entries to the state store")
                          .Register(*registry_)
                          .Add({}, latencyBuckets())),
      applied_entries_(BuildCounter()
                           .Name("cairn_applied_entries_total")
                           .Help("Log entries applied to the state store")
                           .Register(*registry_)
                           .Add({})),
      rocksdb_size_(BuildGauge()
                        .Name("cairn_rocksdb_size_bytes")
                        .Help("Approximate RocksDB size: SST files plus memtables")
                        .Register(*registry_)
                        .Add({})) {
  BuildGauge()
      .Name("cairn_build_info")
      .Help("Always 1; labels carry the build's version and revision")
      .Register(*registry_)
      .Add({{"version", std::string(version)}, {"revision", std::string(revision)}})
      .Set(1);
}

void Metrics::observeHttpRequest(std::string_view route, std::string_view method, int code,
                                 double seconds) {
  http_requests_
      .Add({{"route", std::string(route)},
            {"method", std::string(method)},
            {"code", std::to_string(code)}})
      .Increment();
  http_duration_.Add({{"route", std::string(route)}}, latencyBuckets()).Observe(seconds);
}

void Metrics::countKvOperation(std::string_view op) {
  kv_operations_.Add({{"op", std::string(op)}}).Increment();
}

void Metrics::observeApply(double seconds, size_t entries) {
  apply_duration_.Observe(seconds);
  applied_entries_.Increment(static_cast<double>(entries));
}

void Metrics::setRocksDbSizeProbe(std::function<uint64_t()> probe) {
  rocksdb_size_probe_ = std::move(probe);
}

std::string Metrics::render() {
  if (rocksdb_size_probe_) rocksdb_size_.Set(static_cast<double>(rocksdb_size_probe_()));
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace cairn::metrics
