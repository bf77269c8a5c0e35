// RaftNode: peer messages, configuration changes, leadership transfer, and status for the
// operator endpoints.
#include <future>

#include "core/base/logging.h"
#include "core/node/raft_node.h"
#include "core/raft/conf_change.h"

namespace cairn::node {
namespace {

uint64_t millisSince(std::chrono::steady_clock::time_point t) {
  auto d = std::chrono::steady_clock::now() - t;
  return std::max<int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

v1::MembershipResponse membershipAnswer(const Status& s, const std::string& leader) {
  v1::MembershipResponse r;
  r.set_error_code(static_cast<int>(s.code()));
  r.set_error(s.message());
  r.set_leader_address(leader);
  return r;
}

bool contains(const google::protobuf::RepeatedField<uint64_t>& ids, uint64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

void RaftNode::onRaftMessages(std::vector<raft::Message> messages) {
  (void)post([this, messages = std::move(messages)] {  // lost on shutdown, like on the wire
    auto now = Clock::now();
    for (const auto& m : messages) {
      noteAppendAcked(m);
      Status s = raw_->step(m);
      if (!s.isOk()) LOG_DEBUG("raft", "dropped message from " << m.from() << ": " << s.message());
    }
    std::lock_guard lock(status_mu_);
    for (const auto& m : messages) {
      published_.contact[m.from()] = now;
      if (m.from() == raw_->raft().lead()) published_.last_leader_contact = now;
    }
  });
}

void RaftNode::learnServers(std::vector<v1::ServerInfo> servers) {
  (void)post([this, servers = std::move(servers)] {
    for (const auto& s : servers) rememberServer(s);
  });
}

Status RaftNode::leaderOnly() const {
  if (raw_->raft().state() == raft::StateType::kLeader) return Status::ok();
  uint64_t lead = raw_->raft().lead();
  if (lead == raft::kNone) return unavailable("No cluster leader");
  auto it = servers_.find(lead);
  return unavailable("not the leader; the leader is " +
                     (it == servers_.end() ? std::to_string(lead) : it->second.address()));
}

void RaftNode::proposeConfChange(raft::ConfChange cc, std::function<void(Status)> done) {
  if (Status s = leaderOnly(); !s.isOk()) {
    reply([done = std::move(done), s] { done(s); });
    return;
  }
  auto id = raw_->proposeConfChange(cc);
  if (!id.isOk()) {
    reply([done = std::move(done), s = id.status()] { done(s); });
    return;
  }
  conf_waiters_[id->index] = ConfWaiter{id->term, std::move(done)};
}

void RaftNode::resolveConfWaiters(const raft::Entry& entry) {
  auto it = conf_waiters_.find(entry.index());
  if (it == conf_waiters_.end()) return;
  Status s = entry.term() == it->second.term
                 ? Status::ok()
                 : unavailable("leadership changed before the configuration change committed");
  reply([done = std::move(it->second.done), s] { done(s); });
  conf_waiters_.erase(it);
}

void RaftNode::onJoin(v1::JoinRequest request, transport::Reply<v1::MembershipResponse> answer) {
  bool queued = post([this, request = std::move(request), answer] {
    const v1::ServerInfo& server = request.server();
    std::string leader = leaderAddress();
    if (Status s = leaderOnly(); !s.isOk()) return answer(membershipAnswer(s, leader));
    if (!request.cluster_id().empty() && request.cluster_id() != cluster_id_) {
      return answer(membershipAnswer(invalidArgument("server belongs to cluster " +
                                                     request.cluster_id() + ", not " + cluster_id_),
                                     leader));
    }
    if (server.id() == raft::kNone || server.address().empty()) {
      return answer(
          membershipAnswer(invalidArgument("join request without id or address"), leader));
    }
    rememberServer(server);
    raft::ConfState cs = raw_->raft().tracker().confState();
    if (contains(cs.voters(), server.id()) || contains(cs.learners(), server.id())) {
      v1::MembershipResponse r = membershipAnswer(Status::ok(), leader);  // already a member
      for (const auto& [id, s] : servers_) *r.add_servers() = s;
      return answer(std::move(r));
    }
    raft::ConfChange cc;
    cc.set_type(v1::CONF_CHANGE_ADD_LEARNER);
    cc.set_node_id(server.id());
    cc.set_context(server.SerializeAsString());
    LOG_INFO("raft", "adding " << server.name() << " (" << server.address() << ") as a learner");
    std::vector<v1::ServerInfo> book;
    for (const auto& [id, s] : servers_) book.push_back(s);
    proposeConfChange(cc, [answer, leader, book](Status s) {
      v1::MembershipResponse r = membershipAnswer(s, leader);
      for (const auto& known : book) *r.add_servers() = known;
      answer(std::move(r));
    });
  });
  if (!queued) answer(membershipAnswer(shuttingDown(), ""));
}

void RaftNode::onLeave(v1::LeaveRequest request, transport::Reply<v1::MembershipResponse> answer) {
  bool queued = post([this, request, answer] {
    std::string leader = leaderAddress();
    if (Status s = leaderOnly(); !s.isOk()) return answer(membershipAnswer(s, leader));
    raft::ConfState cs = raw_->raft().tracker().confState();
    bool voter = contains(cs.voters(), request.id());
    if (!voter && !contains(cs.learners(), request.id())) {
      return answer(membershipAnswer(Status::ok(), leader));
    }
    if (voter) {
      // Safe only if the voters that remain still have a live majority.
      size_t remaining = cs.voters_size() - 1, alive = 0;
      auto recent = options_.tick * options_.election_tick;
      std::lock_guard lock(status_mu_);
      for (uint64_t id : cs.voters()) {
        if (id == request.id()) continue;
        auto c = published_.contact.find(id);
        if (id == options_.self.id() ||
            (c != published_.contact.end() && Clock::now() - c->second < recent)) {
          ++alive;
        }
      }
      if (remaining == 0 || alive < remaining / 2 + 1) {
        return answer(membershipAnswer(
            unavailable("removing this server would leave the cluster without a live quorum"),
            leader));
      }
    }
    raft::ConfChange cc;
    cc.set_type(v1::CONF_CHANGE_REMOVE_NODE);
    cc.set_node_id(request.id());
    proposeConfChange(cc, [answer, leader](Status s) { answer(membershipAnswer(s, leader)); });
  });
  if (!queued) answer(membershipAnswer(shuttingDown(), ""));
}

std::optional<uint64_t> RaftNode::findServer(const std::string& id_or_address) const {
  for (const auto& [id, s] : servers_) {
    if (s.node_id() == id_or_address || s.address() == id_or_address) return id;
  }
  return std::nullopt;
}

void RaftNode::removePeer(const std::string& id_or_address, std::function<void(Status)> done) {
  bool queued = post([this, id_or_address, done]() mutable {
    auto id = findServer(id_or_address);
    raft::ConfState cs = raw_->raft().tracker().confState();
    if (!id || (!contains(cs.voters(), *id) && !contains(cs.learners(), *id))) {
      Status s = invalidArgument("address \"" + id_or_address +
                                 "\" was not found in the Raft configuration");
      return reply([done = std::move(done), s] { done(s); });
    }
    raft::ConfChange cc;
    cc.set_type(v1::CONF_CHANGE_REMOVE_NODE);
    cc.set_node_id(*id);
    proposeConfChange(cc, std::move(done));
  });
  if (!queued) reply([done = std::move(done)] { done(shuttingDown()); });
}

void RaftNode::transferLeadership(const std::string& target_id, std::function<void(Status)> done) {
  bool queued = post([this, target_id, done]() mutable {
    if (Status s = leaderOnly(); !s.isOk()) return reply([done = std::move(done), s] { done(s); });
    uint64_t to = raft::kNone, best_match = 0;
    if (!target_id.empty()) {
      auto id = findServer(target_id);
      if (!id) {
        Status s = invalidArgument("cannot find server with ID " + target_id);
        return reply([done = std::move(done), s] { done(s); });
      }
      to = *id;
    } else {
      for (uint64_t id : raw_->raft().tracker().voters()) {
        const auto& all = raw_->raft().tracker().all();
        if (id == options_.self.id() || !all.count(id)) continue;
        if (to == raft::kNone || all.at(id).match > best_match)
          to = id, best_match = all.at(id).match;
      }
    }
    if (to == raft::kNone) {
      Status s = invalidArgument("no other voter to transfer leadership to");
      return reply([done = std::move(done), s] { done(s); });
    }
    if (transfer_) {
      Status busy = unavailable("a leadership transfer is already in progress");
      return reply([done = std::move(done), busy] { done(busy); });
    }
    if (Status s = raw_->transferLeadership(to); !s.isOk()) {
      return reply([done = std::move(done), s] { done(s); });
    }
    // Raft abandons a transfer that has not finished within one election timeout.
    transfer_ = TransferWaiter{to, Clock::now() + 2 * options_.tick * options_.election_tick,
                               std::move(done)};
  });
  if (!queued) reply([done = std::move(done)] { done(shuttingDown()); });
}

void RaftNode::resolveTransfer(Clock::time_point now) {
  if (!transfer_) return;
  Status s;
  if (raw_->raft().lead() == transfer_->target) {
    s = Status::ok();
  } else if (now >= transfer_->deadline) {
    s = unavailable("leadership transfer did not complete in time");
  } else {
    return;
  }
  reply([done = std::move(transfer_->done), s] { done(s); });
  transfer_.reset();
}

std::string RaftNode::leaderAddress() const {
  std::lock_guard lock(status_mu_);
  auto it = published_.servers.find(published_.lead);
  return it == published_.servers.end() ? "" : it->second.address();
}

LeaderStatus RaftNode::leaderStatus() const {
  std::lock_guard lock(status_mu_);
  const Published& p = published_;
  LeaderStatus s;
  s.known_leader = p.lead != raft::kNone;
  s.last_contact_ms = p.is_leader || !s.known_leader ? 0 : millisSince(p.last_leader_contact);
  if (auto it = p.servers.find(p.lead); it != p.servers.end()) {
    s.leader_address = it->second.address();
    s.leader_http_address = it->second.http_address();
  }
  for (uint64_t id : p.conf.voters()) {
    if (auto it = p.servers.find(id); it != p.servers.end())
      s.voters.push_back(it->second.address());
  }
  return s;
}

bool RaftNode::isLeader() const {
  std::lock_guard lock(status_mu_);
  return published_.is_leader;
}

RaftConfiguration RaftNode::raftConfiguration() const {
  std::lock_guard lock(status_mu_);
  const Published& p = published_;
  RaftConfiguration c;
  c.index = p.conf_index;
  auto add = [&](uint64_t id, bool voter) {
    RaftServer s;
    if (auto it = p.servers.find(id); it != p.servers.end()) {
      s.id = it->second.node_id();
      s.node = it->second.name();
      s.address = it->second.address();
    }
    s.leader = id == p.lead;
    s.voter = voter;
    auto m = p.match.find(id);
    s.last_index = id == options_.self.id() ? p.last_index : (m == p.match.end() ? 0 : m->second);
    c.servers.push_back(std::move(s));
  };
  for (uint64_t id : p.conf.voters()) add(id, true);
  for (uint64_t id : p.conf.learners()) add(id, false);
  return c;
}

StatusOr<AutopilotHealth> RaftNode::autopilotHealth() const {
  RaftConfiguration conf = raftConfiguration();
  std::lock_guard lock(status_mu_);
  const Published& p = published_;
  if (!p.is_leader) return unavailable("not the leader");
  AutopilotHealth h;
  auto recent = options_.tick * options_.election_tick;
  size_t healthy_voters = 0, voters = 0;
  // This server's own disk: a leader that cannot write will lose its office, but until then it
  // must not report itself healthy.
  bool own_storage_ok = p.storage_fault.isOk() &&
                        (!options_.storage_health || options_.storage_health->view().healthy());
  for (const RaftServer& s : conf.servers) {
    ServerHealth sh;
    sh.server = s;
    sh.last_term = p.term;
    sh.last_index = s.last_index;
    uint64_t id = 0;
    for (const auto& [sid, info] : p.servers) {
      if (info.node_id() == s.id) id = sid;
    }
    bool self = id == options_.self.id();
    auto c = p.contact.find(id);
    sh.last_contact_ms = self || c == p.contact.end() ? 0 : millisSince(c->second);
    sh.heard_from = self || c != p.contact.end();
    bool contacted = self || (c != p.contact.end() && Clock::now() - c->second < recent);
    bool caught_up = s.last_index + 64 >= p.commit;  // within a few batches of the commit index
    sh.healthy = s.voter && contacted && caught_up && (!self || own_storage_ok);
    voters += s.voter;
    healthy_voters += sh.healthy;
    h.servers.push_back(std::move(sh));
  }
  h.healthy = healthy_voters == h.servers.size();
  h.failure_tolerance =
      std::max<int>(0, static_cast<int>(healthy_voters) - static_cast<int>(voters / 2 + 1));
  return h;
}

Status RaftNode::leave(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  if (raftConfiguration().servers.size() <= 1 || !transport_) return Status::ok();
  if (leaderStatus().leader_address == options_.self.address()) {
    std::promise<Status> transferred;
    transferLeadership("", [&transferred](Status s) { transferred.set_value(s); });
    if (Status s = transferred.get_future().get(); !s.isOk()) return s;
    while (Clock::now() < deadline && leaderStatus().leader_address == options_.self.address()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  Status last = unavailable("timed out leaving the cluster: no leader");
  while (Clock::now() < deadline) {
    std::string leader = leaderStatus().leader_address;
    if (leader.empty() || leader == options_.self.address()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    v1::LeaveRequest request;
    request.set_id(options_.self.id());
    std::promise<StatusOr<v1::MembershipResponse>> answered;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    transport_->leave(leader, request, left, [&answered](StatusOr<v1::MembershipResponse> r) {
      answered.set_value(std::move(r));
    });
    auto r = answered.get_future().get();
    if (r.isOk() && r->error_code() == 0) return Status::ok();
    // Not leader any more, or a leader too new to know which voters are alive: ask again.
    last = r.isOk() ? Status(static_cast<StatusCode>(r->error_code()), r->error()) : r.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

}  // namespace cairn::node
