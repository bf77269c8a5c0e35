#pragma once
// TestCluster: a synchronous in-memory network of RawNodes for focused unit tests. Readies are
// persisted into each node's MemoryStorage at once; messages wait in a queue until deliver()
// (so a test can inspect, drop or reorder them).

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "core/base/random.h"
#include "core/raft/memory_storage.h"
#include "core/raft/raw_node.h"

namespace cairn::raft::testing {

class TestCluster {
 public:
  using Tweak = std::function<void(Config&)>;

  // Nodes 1..voters are the bootstrap voters; nodes voters+1..voters+extra start unconfigured.
  explicit TestCluster(int voters, Tweak tweak = {}, int extra = 0) : tweak_(std::move(tweak)) {
    ConfState cs;
    for (int i = 1; i <= voters; ++i) cs.add_voters(static_cast<uint64_t>(i));
    for (int i = 1; i <= voters + extra; ++i) {
      auto id = static_cast<uint64_t>(i);
      storage_[id] = std::make_unique<MemoryStorage>(i <= voters ? cs : ConfState{});
      rng_[id] = std::make_unique<SeededRandom>(id);
      start(id);
    }
  }

  RawNode& node(uint64_t id) { return *nodes_.at(id); }
  const Raft& raft(uint64_t id) { return nodes_.at(id)->raft(); }
  MemoryStorage& storage(uint64_t id) { return *storage_.at(id); }
  std::vector<Entry>& applied(uint64_t id) { return applied_[id]; }
  std::vector<ReadState>& readStates(uint64_t id) { return read_states_[id]; }
  std::vector<Message>& queue() { return queue_; }
  // Every message that was delivered, in order.
  std::vector<Message>& delivered() { return delivered_; }

  // Rebuilds node `id` from its storage (a crash with everything persisted).
  void start(uint64_t id) {
    Config cfg;
    cfg.id = id;
    cfg.storage = storage_.at(id).get();
    cfg.random = rng_.at(id).get();
    cfg.applied = storage_.at(id)->snapshot()->metadata().index();
    if (tweak_) tweak_(cfg);
    auto node = RawNode::create(cfg);
    nodes_[id] = std::move(node.value());
  }

  void cut(uint64_t id) { cut_.insert(id); }
  void restore(uint64_t id) { cut_.erase(id); }
  void dropIf(std::function<bool(const Message&)> f) { drop_ = std::move(f); }

  // Persists, sends (into the queue), applies and advances every node's pending Ready.
  void flush() {
    for (auto& [id, n] : nodes_) {
      while (n->hasReady()) {
        Ready rd = n->ready();
        MemoryStorage& s = *storage_[id];
        if (rd.snapshot) s.applySnapshot(*rd.snapshot);
        s.append(rd.entries);
        if (rd.hard_state) s.setHardState(*rd.hard_state);
        for (auto* v : {&rd.early_messages, &rd.messages}) {
          for (auto& m : *v) queue_.push_back(m);
        }
        for (auto& e : rd.committed_entries) applied_[id].push_back(e);
        for (auto& r : rd.read_states) read_states_[id].push_back(r);
        n->advance(rd);
      }
    }
  }

  // Delivers queued messages (and those they cause) until the network is quiet.
  void deliver(int max_rounds = 1000) {
    flush();
    for (int i = 0; i < max_rounds && !queue_.empty(); ++i) {
      std::vector<Message> batch;
      batch.swap(queue_);
      for (const Message& m : batch) {
        if (cut_.count(m.from()) || cut_.count(m.to()) || (drop_ && drop_(m))) continue;
        if (!nodes_.count(m.to())) continue;
        delivered_.push_back(m);
        (void)nodes_[m.to()]->step(m);
      }
      flush();
    }
  }

  void tick(uint64_t id, int n = 1) {
    for (int i = 0; i < n; ++i) nodes_.at(id)->tick();
  }
  void tickAll(int n = 1) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, node] : nodes_) node->tick();
      deliver();
    }
  }

  // Makes `id` campaign and delivers until quiet; returns whether it leads.
  bool elect(uint64_t id) {
    nodes_.at(id)->campaign();
    deliver();
    return raft(id).state() == StateType::kLeader;
  }

  uint64_t propose(uint64_t id, const std::string& data) {
    auto r = nodes_.at(id)->propose(data);
    return r.isOk() ? r->index : 0;
  }

  // Ticks every node until some node leads; returns it (0 if none within `max_ticks`).
  uint64_t settle(int max_ticks = 100) {
    for (int i = 0; i < max_ticks; ++i) {
      tickAll(1);
      for (auto& [id, n] : nodes_) {
        if (n->raft().state() == StateType::kLeader) return id;
      }
    }
    return 0;
  }

  size_t countDelivered(MessageType t) const {
    size_t c = 0;
    for (const auto& m : delivered_) c += m.type() == t;
    return c;
  }

 private:
  Tweak tweak_;
  std::map<uint64_t, std::unique_ptr<MemoryStorage>> storage_;
  std::map<uint64_t, std::unique_ptr<SeededRandom>> rng_;
  std::map<uint64_t, std::unique_ptr<RawNode>> nodes_;
  std::map<uint64_t, std::vector<Entry>> applied_;
  std::map<uint64_t, std::vector<ReadState>> read_states_;
  std::vector<Message> queue_;
  std::vector<Message> delivered_;
  std::set<uint64_t> cut_;
  std::function<bool(const Message&)> drop_;
};

}  // namespace cairn::raft::testing
