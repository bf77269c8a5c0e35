#include "core/node/local_node.h"

#include <algorithm>
#include <chrono>

namespace cairn::node {

LocalNode::LocalNode(store::StateStore& store, metrics::Metrics& metrics, std::string rpc_address)
    : store_(store), metrics_(metrics), rpc_address_(std::move(rpc_address)), thread_([this] { run(); }) {}

LocalNode::~LocalNode() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& p : queue_) p.done(unavailable("agent is shutting down"));
}

void LocalNode::propose(v1::Command command, ProposeCallback done) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back({std::move(command), std::move(done)});
      cv_.notify_one();
      return;
    }
  }
  done(unavailable("agent is shutting down"));
}

void LocalNode::run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    std::deque<Pending> batch;
    batch.swap(queue_);
    lock.unlock();
    applyBatch(batch);
    lock.lock();
  }
}

void LocalNode::applyBatch(std::deque<Pending>& batch) {
  auto start = std::chrono::steady_clock::now();
  std::vector<store::LogEntry> entries;
  entries.reserve(batch.size());
  // Index 1 is what an empty store reports (indexes are never 0), so the first write is 2, as
  // with Raft, whose first entry is the configuration.
  uint64_t index = std::max<uint64_t>(store_.appliedIndex(), 1);
  for (const auto& p : batch) entries.push_back({++index, &p.command});
  std::vector<store::TxnOutcome> outcomes = store_.apply(entries, /*sync=*/true);
  metrics_.observeApply(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
      entries.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(ProposeResult{entries[i].index, std::move(outcomes[i])});
  }
}

void LocalNode::readBarrier(ReadMode, std::function<void(Status)> done) {
  done(Status::ok());  // The only server is always the leader and always up to date.
}

LeaderStatus LocalNode::leaderStatus() const {
  return LeaderStatus{true, 0, rpc_address_, {rpc_address_}};
}

}  // namespace cairn::node
