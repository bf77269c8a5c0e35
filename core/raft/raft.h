#pragma once
// Raft: the protocol state machine of one node (thesis chapters 3-6, 9). Deterministic: its only
// inputs are step(), tick(), the proposal calls and the durability reports of RawNode::advance();
// its outputs are the log (RaftLog), the messages in msgs_ and the read states. Use it through
// RawNode, which implements the Ready hand-off. Not thread-safe.
//
// The implementation is split by concern:
//   raft.cc              construction, state transitions, step() dispatch, tick()
//   raft_election.cc     pre-vote, vote, campaign, leadership transfer
//   raft_replication.cc  proposals, AppendEntries and flow control, commit
//   raft_read.cc         ReadIndex rounds and the leader lease
//   raft_membership.cc   configuration changes (single-server, effective when appended)
//   raft_snapshot.cc     chunked InstallSnapshot, restore

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/raft/config.h"
#include "core/raft/progress_tracker.h"
#include "core/raft/raft_log.h"
#include "core/raft/read_only.h"

namespace cairn::raft {

class Raft {
 public:
  explicit Raft(const Config& config);

  // Processes one message from a peer. Malformed messages are rejected with an error and leave
  // the state untouched; messages of stale terms are dropped (OK).
  Status step(const Message& m);
  void tick();
  StatusOr<ProposalId> propose(std::string data);
  StatusOr<ProposalId> proposeConfChange(const ConfChange& cc);
  Status readIndex(std::string context);
  Status transferLeadership(uint64_t to);
  // The commit index if this node is the leader and holds a valid lease (see raft_read.cc).
  std::optional<uint64_t> leaseReadIndex() const;
  // Starts an election now (test hook; a follower does it itself when its timeout fires).
  void campaignNow();

  // --- durability reports (RawNode::advance) ---
  // Entries up to (index, term) and all earlier ones are durable.
  void onEntriesDurable(uint64_t index, uint64_t term);
  void onSnapshotDurable(uint64_t index);
  void onApplied(uint64_t index) { log_.appliedTo(index); }
  // Sends the AppendEntries owed for proposals since the last call (group commit: proposals
  // between two Readies leave in shared messages).
  void flushAppends();
  bool hasPendingAppends() const { return pending_appends_; }

  std::vector<Message>& msgs() { return msgs_; }
  const std::vector<Message>& msgs() const { return msgs_; }
  std::vector<ReadState>& readStates() { return read_states_; }
  const std::vector<ReadState>& readStates() const { return read_states_; }

  uint64_t id() const { return id_; }
  uint64_t term() const { return term_; }
  uint64_t vote() const { return vote_; }
  uint64_t lead() const { return lead_; }
  StateType state() const { return state_; }
  SoftState softState() const { return SoftState{lead_, state_}; }
  HardState hardState() const;
  const RaftLog& log() const { return log_; }
  RaftLog& mutableLog() { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  uint64_t leadTransferee() const { return lead_transferee_; }
  uint64_t tickCount() const { return tick_count_; }
  // The index of the last configuration change in the log (0 if none since the snapshot).
  uint64_t lastConfIndex() const;
  // The configuration in effect once the log is applied up to `index` (at or after the
  // snapshot): what a state machine restarted at `index` must record in its next snapshot.
  ConfState confStateAt(uint64_t index) const;
  bool promotable() const;

 private:
  // raft.cc
  void reset(uint64_t term);
  void becomeFollower(uint64_t term, uint64_t lead);
  void becomePreCandidate();
  void becomeCandidate();
  void becomeLeader();
  void send(Message m);
  Status stepByTerm(const Message& m, bool* drop);
  void stepFollower(const Message& m);
  void stepCandidate(const Message& m);
  void stepLeader(const Message& m);
  void tickElection();
  void tickHeartbeat();
  void resetRandomizedElectionTimeout();
  bool pastElectionTimeout() const { return election_elapsed_ >= randomized_election_timeout_; }
  // Whether this node has recently heard from a leader (or just started) and so must not help
  // depose it (thesis §4.2.3; also what makes the leader lease safe).
  bool inLease() const;
  uint64_t durableIndex() const;

  // raft_election.cc
  void campaign(bool pre_vote, bool transfer);
  void handleVoteRequest(const Message& m);
  void handleVoteResponse(const Message& m);
  void sendTimeoutNow(uint64_t to);
  void abortLeaderTransfer() { lead_transferee_ = kNone; }

  // raft_replication.cc
  uint64_t appendEntry(v1::EntryType type, std::string data);
  bool maybeSendAppend(uint64_t to, bool send_if_empty);
  void sendAppend(uint64_t to) { maybeSendAppend(to, true); }
  void fillPipeline(uint64_t to);
  void bcastAppend();
  void bcastHeartbeat();
  bool maybeCommit();
  void afterCommit();
  void handleAppendEntries(const Message& m);
  void handleHeartbeat(const Message& m);
  void dropAcksFrom(uint64_t index);
  void handleAppendResponse(const Message& m);
  void handleHeartbeatResponse(const Message& m);
  uint64_t committedInCurrentTerm() const;

  // raft_read.cc
  void submitRead(uint64_t from, std::string context);
  void startReadRound();
  void releaseReads(uint64_t confirmed_seq);
  void flushReadsWaitingForCommit();
  void answerRead(const ReadOnly::Request& r);
  void handleReadIndexResponse(const Message& m);

  // raft_membership.cc
  void initConfig();
  void onLogAppended(uint64_t from_index, const std::vector<Entry>& ents);
  void applyConfState(const ConfState& cs);
  void maybeStepDownAfterRemoval();
  void maybeAutoPromote();

  // raft_snapshot.cc
  bool sendSnapshot(uint64_t to, Progress& pr);
  void sendSnapshotChunk(uint64_t to, Progress& pr);
  void handleSnapshot(const Message& m);
  void handleSnapshotResponse(const Message& m);
  bool restore(const Snapshot& snap);
  void tickSnapshotSenders();

  Config cfg_;
  uint64_t id_;
  uint64_t term_ = 0;
  uint64_t vote_ = kNone;
  uint64_t lead_ = kNone;
  StateType state_ = StateType::kFollower;
  RaftLog log_;
  ProgressTracker tracker_;
  std::vector<Message> msgs_;
  std::vector<ReadState> read_states_;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;
  uint64_t tick_count_ = 0;   // ticks since construction; the leader lease clock
  bool just_started_ = true;  // no election timeout has passed since start-up

  uint64_t lead_transferee_ = kNone;
  bool lease_revoked_in_term_ = false;  // TimeoutNow was sent in this term
  bool pending_appends_ = false;

  ReadOnly read_only_;
  std::vector<std::pair<uint64_t, std::string>> reads_waiting_for_commit_;  // (from, context)

  // Membership: base_conf_ is in effect as of the snapshot; conf_history_ lists (index, config)
  // of every configuration entry in the log after it, oldest first.
  ConfState base_conf_;
  std::vector<std::pair<uint64_t, ConfState>> conf_history_;

  // Outgoing snapshot being streamed (shared by all followers that need it).
  std::shared_ptr<const Snapshot> snap_out_;
  // Incoming snapshot chunks (follower).
  std::optional<SnapshotMetadata> snap_in_meta_;
  std::string snap_in_data_;
};

}  // namespace cairn::raft
