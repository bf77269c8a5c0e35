#pragma once
// Metrics: every metric Cairn exports, named in this one file (prefix cairn_, base units, counters
// end in _total, bounded labels: a route template, never a key). Thread-safe.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cairn::metrics {

class Metrics {
 public:
  Metrics(std::string_view version, std::string_view revision);

  // `route` is the matched route template (e.g. "/v1/kv/"), or "unmatched".
  void observeHttpRequest(std::string_view route, std::string_view method, int code, double seconds);
  // op: get, list, keys, put, cas, delete, delete_tree, txn.
  void countKvOperation(std::string_view op);
  // One apply() batch of `entries` log entries that took `seconds`.
  void observeApply(double seconds, size_t entries);
  // Read when rendering: the RocksDB size in bytes.
  void setRocksDbSizeProbe(std::function<uint64_t()> probe);

  // The Prometheus text exposition format (version 0.0.4).
  std::string render();
  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Family<prometheus::Counter>& kv_operations_;
  prometheus::Histogram& apply_duration_;
  prometheus::Counter& applied_entries_;
  prometheus::Gauge& rocksdb_size_;
  std::function<uint64_t()> rocksdb_size_probe_;
};

}  // namespace cairn::metrics
