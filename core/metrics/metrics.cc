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

// 50 µs .. 100 ms: a log fsync takes ~0.1-10 ms on SSDs, tens of ms on slow disks.
Histogram::BucketBoundaries fsyncBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
          0.01,    0.025,  0.05,    0.1,    0.25,  0.5,    1};
}

// 100 µs .. 2.5 s: an AppendEntries round trip, loopback to a slow WAN link.
Histogram::BucketBoundaries rttBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
}

// 1 ms .. 10 min: a snapshot of a small store up to one of a few GiB.
Histogram::BucketBoundaries snapshotBuckets() {
  return {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 600};
}

prometheus::Gauge& gauge(prometheus::Registry& registry, const char* name, const char* help) {
  return BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Counter& counter(prometheus::Registry& registry, const char* name, const char* help) {
  return BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram& histogram(prometheus::Registry& registry, const char* name, const char* help,
                                 Histogram::BucketBoundaries buckets) {
  return BuildHistogram().Name(name).Help(help).Register(registry).Add({}, std::move(buckets));
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
      http_blocking_queries_(
          gauge(*registry_, "cairn_http_blocking_queries",
                "Blocking queries (?index=) held, waiting for a change or being answered")),
      kv_operations_(BuildCounter()
                         .Name("cairn_kv_operations_total")
                         .Help("KV operations served, by operation")
                         .Register(*registry_)),
      apply_duration_(
          BuildHistogram()
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
                        .Add({})),
      raft_has_leader_(gauge(*registry_, "cairn_raft_has_leader",
                             "1 when this server knows a Raft leader, else 0")),
      raft_is_leader_(gauge(*registry_, "cairn_raft_is_leader",
                            "1 when this server is the Raft leader, else 0")),
      raft_term_(gauge(*registry_, "cairn_raft_term", "This server's current Raft term")),
      raft_commit_index_(gauge(*registry_, "cairn_raft_commit_index",
                               "Highest log index this server knows to be committed")),
      raft_applied_index_(gauge(*registry_, "cairn_raft_applied_index",
                                "Highest log index applied to this server's state store")),
      raft_leader_changes_(counter(*registry_, "cairn_raft_leader_changes_total",
                                   "Times this server saw the Raft leader change")),
      raft_proposals_failed_(counter(*registry_, "cairn_raft_proposals_failed_total",
                                     "Proposed commands that failed before being applied")),
      raft_fsync_duration_(histogram(*registry_, "cairn_raft_fsync_duration_seconds",
                                     "Time to make one batch of Raft log writes durable",
                                     fsyncBuckets())),
      raft_append_rtt_(BuildHistogram()
                           .Name("cairn_raft_append_rtt_seconds")
                           .Help("AppendEntries round-trip time to a peer, by peer node name")
                           .Register(*registry_)),
      raft_snapshot_save_duration_(
          histogram(*registry_, "cairn_raft_snapshot_save_duration_seconds",
                    "Time to take an image of the state store", snapshotBuckets())),
      raft_snapshot_restore_duration_(
          histogram(*registry_, "cairn_raft_snapshot_restore_duration_seconds",
                    "Time to restore the state store from an image", snapshotBuckets())),
      storage_disk_full_(gauge(*registry_, "cairn_storage_disk_full",
                               "1 while writes to this agent's data dir fail for lack of space")),
      storage_write_error_(
          gauge(*registry_, "cairn_storage_write_error",
                "1 while writes to this agent's data dir fail for another reason")),
      storage_corrupted_(gauge(*registry_, "cairn_storage_corrupted",
                               "1 once corruption was found in this agent's data dir (sticky "
                               "until restart)")) {
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

void Metrics::incHttpBlockingQueries() { http_blocking_queries_.Increment(); }

void Metrics::decHttpBlockingQueries() { http_blocking_queries_.Decrement(); }

void Metrics::countKvOperation(std::string_view op) {
  kv_operations_.Add({{"op", std::string(op)}}).Increment();
}

void Metrics::observeApply(double seconds, size_t entries) {
  apply_duration_.Observe(seconds);
  applied_entries_.Increment(static_cast<double>(entries));
}

void Metrics::setRaftState(const RaftState& state) {
  raft_has_leader_.Set(state.has_leader ? 1 : 0);
  raft_is_leader_.Set(state.is_leader ? 1 : 0);
  raft_term_.Set(static_cast<double>(state.term));
  raft_commit_index_.Set(static_cast<double>(state.commit_index));
  raft_applied_index_.Set(static_cast<double>(state.applied_index));
}

void Metrics::setRaftAppliedIndex(uint64_t index) {
  raft_applied_index_.Set(static_cast<double>(index));
}

void Metrics::incLeaderChanges() { raft_leader_changes_.Increment(); }

void Metrics::incProposalsFailed() { raft_proposals_failed_.Increment(); }

void Metrics::observeFsync(double seconds) { raft_fsync_duration_.Observe(seconds); }

void Metrics::observeAppendRtt(const std::string& peer, double seconds) {
  raft_append_rtt_.Add({{"peer", peer}}, rttBuckets()).Observe(seconds);
}

void Metrics::observeSnapshotSave(double seconds) { raft_snapshot_save_duration_.Observe(seconds); }

void Metrics::observeSnapshotRestore(double seconds) {
  raft_snapshot_restore_duration_.Observe(seconds);
}

void Metrics::setRocksDbSizeProbe(std::function<uint64_t()> probe) {
  rocksdb_size_probe_ = std::move(probe);
}

void Metrics::setStorageFaultsProbe(std::function<StorageFaults()> probe) {
  storage_faults_probe_ = std::move(probe);
}

std::string Metrics::render() { return prometheus::TextSerializer().Serialize(collect()); }

std::vector<prometheus::MetricFamily> Metrics::collect() {
  if (rocksdb_size_probe_) rocksdb_size_.Set(static_cast<double>(rocksdb_size_probe_()));
  if (storage_faults_probe_) {
    StorageFaults f = storage_faults_probe_();
    storage_disk_full_.Set(f.disk_full ? 1 : 0);
    storage_write_error_.Set(f.io_error ? 1 : 0);
    storage_corrupted_.Set(f.corrupted ? 1 : 0);
  }
  return registry_->Collect();
}

}  // namespace cairn::metrics
