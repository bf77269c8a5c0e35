// Fuzz target: Raft messages as they arrive from a peer. The input is the bytes of one
// cairn.v1.RaftBatch (what a peer's stream carries); every message in it is stepped, as
// RaftNode::onRaftMessages does, into a RawNode (id 1, voters 1-3, a log of five term-1 entries
// of which three are committed) that is first a follower, then the leader. After each step the
// node's Ready is handled as the contract says (persist to a MemoryStorage, apply, advance) and
// the node ticks. A peer's bytes are untrusted: no input may crash the node, lose or change an
// entry it had committed, move its commit index backwards, or apply an entry that is not durable.
#include <cstdint>
#include <cstdlib>
#include <map>

#include "cairn/v1/cluster.pb.h"
#include "core/base/random.h"
#include "core/raft/memory_storage.h"
#include "core/raft/raw_node.h"

namespace {

using namespace cairn::raft;

void require(bool ok) {
  if (!ok) std::abort();
}

class Harness {
 public:
  explicit Harness(bool leader) : storage_(voters()), random_(42) {
    std::vector<Entry> log;
    for (uint64_t i = 1; i <= 5; ++i) {
      Entry e;
      e.set_index(i);
      e.set_term(1);
      e.set_data("entry" + std::to_string(i));
      log.push_back(e);
    }
    storage_.append(log);
    HardState hs;
    hs.set_term(1);
    hs.set_commit(3);
    storage_.setHardState(hs);
    Config cfg;
    cfg.id = 1;
    cfg.storage = &storage_;
    cfg.random = &random_;
    cfg.lease_ticks = 8;
    cfg.snapshot_chunk_bytes = 64;
    auto node = RawNode::create(cfg);
    require(node.isOk());
    node_ = std::move(*node);
    drain();
    if (leader) becomeLeader();
  }

  void deliver(const Message& m) {
    (void)node_->step(m);  // a malformed message is an error, never a crash
    drain();
    node_->tick();
    drain();
  }

 private:
  static ConfState voters() {
    ConfState cs;
    for (uint64_t id : {1, 2, 3}) cs.add_voters(id);
    return cs;
  }

  // Wins an election by granting every vote it asks for.
  void becomeLeader() {
    node_->campaign();
    for (int round = 0; round < 4 && node_->raft().state() != StateType::kLeader; ++round) {
      for (const Message& m : drain()) {
        if (m.type() != cairn::v1::MSG_VOTE && m.type() != cairn::v1::MSG_PRE_VOTE) continue;
        Message grant;
        grant.set_type(m.type() == cairn::v1::MSG_VOTE ? cairn::v1::MSG_VOTE_RESP
                                                       : cairn::v1::MSG_PRE_VOTE_RESP);
        grant.set_from(m.to());
        grant.set_to(1);
        grant.set_term(m.term());
        (void)node_->step(grant);
      }
    }
    require(node_->raft().state() == StateType::kLeader);
    drain();
  }

  // Handles every Ready as the contract says and checks the invariants; returns what was sent.
  std::vector<Message> drain() {
    std::vector<Message> sent;
    while (node_->hasReady()) {
      Ready rd = node_->ready();
      for (auto& m : rd.early_messages) sent.push_back(std::move(m));
      if (rd.snapshot) storage_.applySnapshot(*rd.snapshot);
      storage_.append(rd.entries);
      if (rd.hard_state) storage_.setHardState(*rd.hard_state);
      for (auto& m : rd.messages) sent.push_back(std::move(m));
      for (const Entry& e : rd.committed_entries) {
        require(e.index() <= storage_.lastIndex());  // applied only once durable
        auto [it, fresh] = applied_.emplace(e.index(), e.term());
        require(fresh || it->second == e.term());
      }
      node_->advance(rd);
      check();
    }
    return sent;
  }

  void check() {
    uint64_t commit = node_->raft().log().committed();
    require(commit >= commit_);  // never backwards
    commit_ = commit;
    for (uint64_t i = 1; i <= 3; ++i) {  // committed at start: never lost or changed
      if (auto t = storage_.term(i); t && i >= storage_.firstIndex()) require(*t == 1);
    }
  }

  MemoryStorage storage_;
  cairn::SeededRandom random_;
  std::unique_ptr<RawNode> node_;
  std::map<uint64_t, uint64_t> applied_;  // index -> term of what was handed out to apply
  uint64_t commit_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cairn::v1::RaftBatch batch;
  if (!batch.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (batch.messages_size() > 64) return 0;  // keeps each run short; longer batches add nothing
  for (bool leader : {false, true}) {
    Harness h(leader);
    for (const Message& m : batch.messages()) h.deliver(m);
  }
  return 0;
}
