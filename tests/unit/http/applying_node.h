#pragma once
// A Node for handler tests: applies every proposal to a real state store at once, at the next
// index; reads pass their barrier at once; it is always the leader.

#include <span>

#include "core/node/node.h"
#include "core/store/state_store.h"

namespace cairn::http::testing {

class ApplyingNode : public node::Node {
 public:
  explicit ApplyingNode(store::StateStore& store) : store_(store) {}
  void propose(v1::Command command, node::ProposeCallback done) override {
    ++proposals;
    store::LogEntry entry{store_.appliedIndex() + 1, &command};
    auto outcomes = store_.apply(std::span(&entry, 1), false);
    done(node::ProposeResult{entry.index, std::move(outcomes[0])});
  }
  void readBarrier(node::ReadMode, std::function<void(Status)> done) override { done({}); }
  node::LeaderStatus leaderStatus() const override { return {true, 0, "127.0.0.1:8300", {}}; }
  bool isLeader() const override { return true; }
  node::RaftConfiguration raftConfiguration() const override { return {}; }
  void removePeer(const std::string&, std::function<void(Status)> done) override { done({}); }
  void transferLeadership(const std::string&, std::function<void(Status)> done) override {
    done({});
  }
  StatusOr<node::AutopilotHealth> autopilotHealth() const override { return unavailable("no"); }
  int proposals = 0;

 private:
  store::StateStore& store_;
};

}  // namespace cairn::http::testing
