#pragma once
// LocalNode: a single server without replication (`cairn agent -dev` until consensus lands). One
// apply thread drains every pending proposal into one batch, assigns consecutive indexes, and
// applies the batch durably (sync) in one RocksDB write: group commit, one fsync per batch.

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "core/metrics/metrics.h"
#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::node {

class LocalNode final : public Node {
 public:
  // `rpc_address` is what status endpoints report as the leader. Arguments outlive the node.
  LocalNode(store::StateStore& store, metrics::Metrics& metrics, std::string rpc_address);
  ~LocalNode() override;  // Fails proposals still queued with kUnavailable.

  void propose(v1::Command command, ProposeCallback done) override;
  void readBarrier(ReadMode mode, std::function<void(Status)> done) override;
  LeaderStatus leaderStatus() const override;

 private:
  struct Pending {
    v1::Command command;
    ProposeCallback done;
  };
  void run();
  void applyBatch(std::deque<Pending>& batch);

  store::StateStore& store_;
  metrics::Metrics& metrics_;
  const std::string rpc_address_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn::node
