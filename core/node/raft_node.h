#pragma once
// RaftNode: a replicated server. It drives core/raft's RawNode from ONE loop thread (the Ready
// loop of docs/raft.md): persist to the LogStore (one fsync per Ready: group commit), send through
// the Transport (the leader's appends leave before its own fsync), apply committed entries to the
// StateStore, answer reads and proposals. Everything else (HTTP threads, transport threads) talks
// to the loop through its inbox and never blocks on it.
//
// Writes: a proposal carries a request id (raft id + sequence). The leader proposes it at once; a
// follower forwards it to the leader, which answers with the index it landed at. Either way the
// proposer answers its caller when it applies its own command (same outcome on every replica),
// or fails it when another entry is applied at that index (leadership changed: not applied).
// Reads: stale at once; default through the leader lease when valid, else ReadIndex; consistent
// always ReadIndex. ReadIndex requests arriving together share one round (batched).
// Without a leader, requests wait up to Options::hold, then fail with "No cluster leader".
//
// Storage faults (docs/operations.md, "Full disks"): when the LogStore or the StateStore cannot
// write (disk full), the Ready being handled is kept and retried every Options::storage_retry
// from the step that failed; no new Ready is taken meanwhile, so nothing that promises durability
// (an append acknowledgement, a vote) leaves and nothing is applied twice or out of order. The
// loop keeps ticking and stepping peer messages (their answers wait for the kept Ready). Writes
// are refused at once with the fault ("disk full: ..."); writes already in flight are answered
// as undecided; reads that need this server's Raft round fail fast, except on a single-voter
// cluster, whose commit index is always safe to read at; stale reads keep working.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "cairn/v1/cluster.pb.h"
#include "core/metrics/metrics.h"
#include "core/node/node.h"
#include "core/raft/raw_node.h"
#include "core/storage/log_store.h"
#include "core/storage/storage_health.h"
#include "core/store/state_store.h"
#include "core/transport/transport.h"

namespace cairn::node {

// What a request that reaches a stopping node is answered (every request gets an answer).
Status shuttingDown();

// Runs callbacks off the loop thread (the HTTP thread pool).
using Executor = std::function<void(std::function<void()>)>;

class RaftNode final : public Node {
 public:
  struct Options {
    v1::ServerInfo self;  // id (raft id), node_id, name, address (advertised RPC address)
    std::chrono::milliseconds tick{50};
    int election_tick = 10;  // election timeout: [10, 20) ticks
    int heartbeat_tick = 1;
    int lease_ticks = 8;                   // < election_tick: the margin absorbs clock drift
    std::chrono::milliseconds hold{5000};  // how long requests wait for a leader
    uint64_t snapshot_every = 20000;       // applied entries between snapshots
    uint64_t snapshot_retain = 5000;       // log entries kept behind a snapshot
    std::chrono::milliseconds storage_retry{500};  // retry of a write that failed (disk full)
    // When set, a fault it reports (e.g. corruption found by a read) makes this server report
    // itself unhealthy in autopilot health. May be null.
    const storage::StorageHealth* storage_health = nullptr;
  };

  // All references outlive the node. `transport` may be null for a single-server cluster that
  // never talks to peers (`-dev`).
  RaftNode(Options options, storage::LogStore& log, store::StateStore& state,
           transport::Transport* transport, metrics::Metrics& metrics, Executor executor);
  ~RaftNode() override;  // stop()

  // Writes the bootstrap configuration (every server in `voters` a voter) and the cluster id to
  // a log that has no state yet. Fails (disk full) before the log has state, so it may be retried.
  static Status bootstrap(storage::LogStore& log, const std::vector<v1::ServerInfo>& voters,
                          const std::string& cluster_id);

  // Restores from the LogStore and starts the loop thread.
  Status start();
  // Stops the loop; requests still waiting fail with kUnavailable. Idempotent.
  void stop();

  // Asks the leader to remove this server from the configuration and waits up to `timeout` for
  // it to commit (transferring leadership first if this server leads). Blocking: call from the
  // shutdown path only, never from the loop.
  Status leave(std::chrono::milliseconds timeout);

  std::string clusterId() const;
  // The storage fault that stops this server's Raft loop (disk full), OK when there is none.
  Status storageFault() const;

  // Node
  void propose(v1::Command command, ProposeCallback done) override;
  void readBarrier(ReadMode mode, std::function<void(Status)> done) override;
  LeaderStatus leaderStatus() const override;
  bool isLeader() const override;
  RaftConfiguration raftConfiguration() const override;
  void removePeer(const std::string& id_or_address, std::function<void(Status)> done) override;
  void transferLeadership(const std::string& target_id, std::function<void(Status)> done) override;
  StatusOr<AutopilotHealth> autopilotHealth() const override;

  // Peer requests, as ClusterService (cluster_service.h) hands them over; thread-safe, never block.
  void onRaftMessages(std::vector<raft::Message> messages);
  void onForward(v1::ForwardRequest request, transport::Reply<v1::ForwardResponse> reply);
  void onJoin(v1::JoinRequest request, transport::Reply<v1::MembershipResponse> reply);
  void onLeave(v1::LeaveRequest request, transport::Reply<v1::MembershipResponse> reply);
  // Adds servers to the address book (a joining server learns its peers from the leader).
  void learnServers(std::vector<v1::ServerInfo> servers);
  // The RPC address of the leader, empty when unknown.
  std::string leaderAddress() const;

 private:
  using Clock = std::chrono::steady_clock;
  using Event = std::function<void()>;  // runs on the loop thread

  struct PendingWrite {
    ProposeCallback done;
    Clock::time_point deadline;
    std::string data;         // the serialized command (kept until it is proposed or forwarded)
    uint64_t index = 0;       // where it landed, once known
    bool forwarding = false;  // a Forward call to the leader is in flight
  };
  struct ReadWaiter {
    std::function<void(Status)> done;
    Clock::time_point deadline;
  };
  struct ReadRound {
    std::vector<ReadWaiter> waiters;
    Clock::time_point sent;
  };
  // A configuration change or transfer the loop is waiting on.
  struct ConfWaiter {
    uint64_t term = 0;
    std::function<void(Status)> done;
  };
  // Status published by the loop for other threads (guarded by status_mu_).
  struct Published {
    uint64_t lead = 0;
    bool is_leader = false;
    uint64_t term = 0;
    Clock::time_point last_leader_contact;
    raft::ConfState conf;
    uint64_t conf_index = 0;
    std::map<uint64_t, v1::ServerInfo> servers;
    std::map<uint64_t, uint64_t> match;             // leader's view of each peer
    std::map<uint64_t, Clock::time_point> contact;  // last message from each peer
    uint64_t last_index = 0;
    uint64_t commit = 0;
    Status storage_fault;  // while a Ready is held because storage refused it
  };
  // A Ready whose persistence or application failed: kept, and finished from the step that
  // failed, before raw_ hands out another (it does not until this one is advanced).
  struct HeldReady {
    raft::Ready rd;
    bool persisted = false;  // step 1 done and rd.messages sent
    bool restored = false;   // rd.snapshot restored into the state store
  };

  // raft_node.cc: the loop
  // Queues `event` for the loop; false (event dropped) once the node is stopping. A caller that
  // owes someone an answer gives it then (shuttingDown()), or that request would hang.
  [[nodiscard]] bool post(Event event);
  void run();
  void tickDue(Clock::time_point now);
  void handleReady();
  // Steps 1-4 of the Ready contract for held_, from where they stopped; false when storage
  // failed again (held_ is kept for the next retry).
  bool finishReady();
  bool storageFailed(Status status);
  void storageRecovered();
  Status persist(const raft::Ready& rd);
  Status applyCommitted(const std::vector<raft::Entry>& entries);
  void applyConfChange(const raft::Entry& entry);
  std::string serverName(uint64_t id) const;
  void logProgress(Clock::time_point now);  // for logs: name (address), or the raft ID
  void maybeSnapshot();
  Status restoreSnapshot(const raft::Snapshot& snapshot);
  void onSoftState(const raft::SoftState& soft);
  void publish();
  void rememberServer(const v1::ServerInfo& server);
  // Saves the address book; a failure leaves servers_dirty_ set for persist() to retry.
  Status saveServers();
  void sendMessages(std::vector<raft::Message> messages);
  // Append round trips: when each AppendEntries left (by peer, last index), matched by the ack.
  void noteAppendsSent(const std::vector<raft::Message>& messages);
  void noteAppendAcked(const raft::Message& ack);

  // raft_node_requests.cc: proposals, forwarding, reads
  void submitWrite(const std::string& request_id);
  void forwardWrite(const std::string& request_id, uint64_t lead);
  void onForwardAnswer(const std::string& request_id, StatusOr<v1::ForwardResponse> answer);
  void resolveWrite(const std::string& request_id, uint64_t index, store::TxnOutcome outcome);
  void failWrite(const std::string& request_id, Status status);
  void retryWaiting();
  void readWhileStalled(std::function<void(Status)> done);
  void startReadRound();
  void onReadStates(const std::vector<raft::ReadState>& states);
  void waitApplied(uint64_t index, std::function<void(Status)> done);
  void releaseAppliedWaiters();
  void expireDeadlines(Clock::time_point now);
  void reply(std::function<void()> fn) { executor_(std::move(fn)); }

  // raft_node_membership.cc: configuration changes and introspection
  void proposeConfChange(raft::ConfChange cc, std::function<void(Status)> done);
  void resolveConfWaiters(const raft::Entry& entry);
  void resolveTransfer(Clock::time_point now);
  std::optional<uint64_t> findServer(const std::string& id_or_address) const;
  Status leaderOnly() const;

  Options options_;
  storage::LogStore& log_;
  store::StateStore& state_;
  transport::Transport* transport_;
  metrics::Metrics& metrics_;
  Executor executor_;
  std::unique_ptr<Random> random_;

  // Loop thread state.
  std::unique_ptr<raft::RawNode> raw_;
  std::string cluster_id_;
  raft::ConfState applied_conf_;  // membership as of the applied index (for snapshots)
  std::map<uint64_t, v1::ServerInfo> servers_;  // the address book
  uint64_t last_snapshot_index_ = 0;
  std::optional<HeldReady> held_;
  Status storage_fault_;  // the last storage failure while held_ is set
  Clock::time_point next_storage_retry_;
  bool servers_dirty_ = false;
  // applyCommitted() has done the per-entry work (conf changes, answers) up to this index.
  uint64_t resolved_through_ = 0;
  Clock::time_point next_tick_;
  Clock::time_point next_progress_log_;  // logProgress()
  uint64_t lead_ = 0;
  std::map<std::string, PendingWrite> writes_;  // by request id
  std::map<uint64_t, std::string> writes_by_index_;
  std::vector<std::string> writes_waiting_;       // for a leader
  std::vector<ReadWaiter> reads_unsent_;          // for the next ReadIndex round (or a leader)
  std::map<std::string, ReadRound> read_rounds_;  // by context
  std::multimap<uint64_t, std::function<void(Status)>> applied_waiters_;
  std::map<uint64_t, ConfWaiter> conf_waiters_;  // by log index
  // A leadership transfer in progress: answered when `target` leads, or failed at `deadline`.
  struct TransferWaiter {
    uint64_t target = 0;
    Clock::time_point deadline;
    std::function<void(Status)> done;
  };
  std::optional<TransferWaiter> transfer_;
  uint64_t read_seq_ = 0;
  std::map<uint64_t, std::deque<std::pair<uint64_t, Clock::time_point>>> appends_in_flight_;

  // Inbox.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Event> inbox_;
  bool stopping_ = false;
  uint64_t request_seq_ = 0;
  const uint64_t boot_id_;  // random per process start: part of every request id and read context
  std::thread thread_;

  mutable std::mutex status_mu_;
  Published published_;
};

}  // namespace cairn::node
