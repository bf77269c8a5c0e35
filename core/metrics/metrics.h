#pragma once
// Metrics: every metric Cairn exports, named in this one file (prefix cairn_, base units, counters
// end in _total, bounded labels: a route template, never a key). Thread-safe.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cairn::metrics {

// The Raft node's view of the cluster, as gauges.
struct RaftState {
  bool has_leader = false;
  bool is_leader = false;
  uint64_t term = 0;
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
};

// The agent's own disk, as gauges (storage::StorageHealth; metrics does not depend on storage).
struct StorageFaults {
  bool disk_full = false;
  bool io_error = false;   // a write failed for another reason
  bool corrupted = false;  // corruption found while serving
};

class Metrics {
 public:
  Metrics(std::string_view version, std::string_view revision);

  // `route` is the matched route template (e.g. "/v1/kv/"), or "unmatched".
  void observeHttpRequest(std::string_view route, std::string_view method, int code,
                          double seconds);
  // A blocking query record was created / released (cairn_http_blocking_queries).
  void incHttpBlockingQueries();
  void decHttpBlockingQueries();
  // op: get, list, keys, put, cas, delete, delete_tree, txn.
  void countKvOperation(std::string_view op);
  // One apply() batch of `entries` log entries that took `seconds`.
  void observeApply(double seconds, size_t entries);
  // Raft (called by the node): the gauges, each leadership change seen, each proposal that failed
  // (not leader, shutting down, ...), each log fsync, each AppendEntries round trip to `peer` (its
  // node name; the label set is bounded by the cluster size), and snapshot save/restore times.
  void setRaftState(const RaftState& state);
  void setRaftAppliedIndex(uint64_t index);
  void incLeaderChanges();
  void incProposalsFailed();
  void observeFsync(double seconds);
  void observeAppendRtt(const std::string& peer, double seconds);
  void observeSnapshotSave(double seconds);
  void observeSnapshotRestore(double seconds);

  // Read when rendering: the RocksDB size in bytes.
  void setRocksDbSizeProbe(std::function<uint64_t()> probe);
  // Read when rendering: the cairn_storage_* gauges.
  void setStorageFaultsProbe(std::function<StorageFaults()> probe);

  // The Prometheus text exposition format (version 0.0.4).
  std::string render();
  // Every metric family with the probes read now (render() serialises these; /v1/agent/metrics
  // turns them into Consul's JSON).
  std::vector<prometheus::MetricFamily> collect();
  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& http_requests_;
  prometheus::Family<prometheus::Histogram>& http_duration_;
  prometheus::Gauge& http_blocking_queries_;
  prometheus::Family<prometheus::Counter>& kv_operations_;
  prometheus::Histogram& apply_duration_;
  prometheus::Counter& applied_entries_;
  prometheus::Gauge& rocksdb_size_;
  prometheus::Gauge& raft_has_leader_;
  prometheus::Gauge& raft_is_leader_;
  prometheus::Gauge& raft_term_;
  prometheus::Gauge& raft_commit_index_;
  prometheus::Gauge& raft_applied_index_;
  prometheus::Counter& raft_leader_changes_;
  prometheus::Counter& raft_proposals_failed_;
  prometheus::Histogram& raft_fsync_duration_;
  prometheus::Family<prometheus::Histogram>& raft_append_rtt_;
  prometheus::Histogram& raft_snapshot_save_duration_;
  prometheus::Histogram& raft_snapshot_restore_duration_;
  prometheus::Gauge& storage_disk_full_;
  prometheus::Gauge& storage_write_error_;
  prometheus::Gauge& storage_corrupted_;
  std::function<uint64_t()> rocksdb_size_probe_;
  std::function<StorageFaults()> storage_faults_probe_;
};

}  // namespace cairn::metrics
