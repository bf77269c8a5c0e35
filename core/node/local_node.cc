#include "core/node/local_node.h"

#include <algorithm>
#include <chrono>

namespace cairn::node {

namespace {

constexpr uint64_t kTerm = 1;  // A single server elects itself once, in the first term.

}  // namespace

LocalNode::LocalNode(store::StateStore& store, metrics::Metrics& metrics, std::string rpc_address,
                     std::string node_id, std::string node_name)
    : store_(store),
      metrics_(metrics),
      rpc_address_(std::move(rpc_address)),
      node_id_(std::move(node_id)),
      node_name_(std::move(node_name)) {
  uint64_t applied = store_.appliedIndex();
  metrics_.setRaftState({true, true, kTerm, applied, applied});
  metrics_.incLeaderChanges();  // It became the leader.
  thread_ = std::thread([this] { run(); });
}

LocalNode::~LocalNode() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& p : queue_) {
    metrics_.incProposalsFailed();
    p.done(unavailable("agent is shutting down"));
  }
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
  metrics_.incProposalsFailed();
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
  metrics_.setRaftState({true, true, kTerm, index, index});
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

RaftServer LocalNode::self() const {
  return RaftServer{node_id_, node_name_, rpc_address_, true, true, store_.appliedIndex()};
}

RaftConfiguration LocalNode::raftConfiguration() const {
  // Index 1: the configuration is conceptually the first log entry (see applyBatch).
  return RaftConfiguration{{self()}, 1};
}

void LocalNode::removePeer(const std::string& id_or_address, std::function<void(Status)> done) {
  if (id_or_address == node_id_ || id_or_address == rpc_address_) {
    return done(invalidArgument("cannot remove " + id_or_address +
                                ": it is the only server in the Raft configuration"));
  }
  done(notFound("\"" + id_or_address + "\" was not found in the Raft configuration"));
}

void LocalNode::transferLeadership(const std::string& target_id, std::function<void(Status)> done) {
  // hashicorp/raft's wording when no other voter exists.
  if (target_id.empty() || target_id == node_id_) return done(unavailable("cannot find peer"));
  done(notFound("cannot find peer " + target_id + ": it is not in the Raft configuration"));
}

StatusOr<AutopilotHealth> LocalNode::autopilotHealth() const {
  RaftServer server = self();
  ServerHealth health{server, true, 0, kTerm, server.last_index};
  return AutopilotHealth{true, 0, {health}};
}

}  // namespace cairn::node
