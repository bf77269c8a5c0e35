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
  // `rpc_address` is what status endpoints report as the leader; `node_id` and `node_name` name
  // the one server of the configuration. The store and metrics outlive the node.
  LocalNode(store::StateStore& store, metrics::Metrics& metrics, std::string rpc_address,
            std::string node_id, std::string node_name);
  ~LocalNode() override;  // Fails proposals still queued with kUnavailable.

  void propose(v1::Command command, ProposeCallback done) override;
  void readBarrier(ReadMode mode, std::function<void(Status)> done) override;
  LeaderStatus leaderStatus() const override;

  // A configuration of one voter, this server, always the leader. Nothing can be removed from it
  // and leadership has nowhere to go: removePeer and transferLeadership always fail.
  RaftConfiguration raftConfiguration() const override;
  void removePeer(const std::string& id_or_address, std::function<void(Status)> done) override;
  void transferLeadership(const std::string& target_id, std::function<void(Status)> done) override;
  StatusOr<AutopilotHealth> autopilotHealth() const override;

 private:
  struct Pending {
    v1::Command command;
    ProposeCallback done;
  };
  void run();
  void applyBatch(std::deque<Pending>& batch);
  RaftServer self() const;

  store::StateStore& store_;
  metrics::Metrics& metrics_;
  const std::string rpc_address_;
  const std::string node_id_;
  const std::string node_name_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace cairn::node
