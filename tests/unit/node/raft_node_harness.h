#pragma once
// Test harness for RaftNode in one process: servers with their own RocksDB, log store and state
// store, connected by an in-memory transport that can cut links. Waits are conditions with
// deadlines, never fixed sleeps.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "core/node/cluster_service.h"
#include "core/node/raft_node.h"
#include "core/storage/rocksdb_log_store.h"

namespace cairn::node::nodetest {

using namespace std::chrono_literals;

class Network;

// Delivers to the other LoopbackTransports of the same Network, synchronously (the receiving
// node only queues what it gets). Unary calls answer on the receiver's thread.
class LoopbackTransport final : public transport::Transport {
 public:
  LoopbackTransport(Network& net, std::string address) : net_(net), address_(std::move(address)) {}
  Status start(const std::string&, transport::PeerService* service) override;
  std::string boundAddress() const override { return address_; }
  void stop() override;
  void setClusterId(const std::string&) override {}
  void setPeer(uint64_t id, const std::string& address) override {
    std::lock_guard lock(mu_);
    peers_[id] = address;
  }
  void removePeer(uint64_t id) override {
    std::lock_guard lock(mu_);
    peers_.erase(id);
  }
  void send(std::vector<raft::Message> messages) override;
  void forward(const std::string& address, v1::ForwardRequest request, Deadline,
               transport::Done<v1::ForwardResponse> done) override;
  void hello(const std::string&, v1::HelloRequest, Deadline,
             transport::Done<v1::HelloResponse> done) override {
    done(unavailable("not used"));
  }
  void join(const std::string&, v1::JoinRequest, Deadline,
            transport::Done<v1::MembershipResponse> done) override {
    done(unavailable("not used"));
  }
  void leave(const std::string& address, v1::LeaveRequest request, Deadline,
             transport::Done<v1::MembershipResponse> done) override;
  void setBlockedPeers(std::set<std::string> addresses) override {
    std::lock_guard lock(mu_);
    blocked_ = std::move(addresses);
  }
  bool blocks(const std::string& address) const {
    std::lock_guard lock(mu_);
    return blocked_.count(address) > 0;
  }
  transport::PeerService* service() const { return service_; }

 private:
  transport::PeerService* reachable(const std::string& address) const;

  Network& net_;
  const std::string address_;
  transport::PeerService* service_ = nullptr;
  mutable std::mutex mu_;
  std::map<uint64_t, std::string> peers_;
  std::set<std::string> blocked_;
};

class Network {
 public:
  void add(LoopbackTransport* t) {
    std::lock_guard lock(mu_);
    nodes_[t->boundAddress()] = t;
  }
  void remove(const std::string& address) {
    std::lock_guard lock(mu_);
    nodes_.erase(address);
  }
  LoopbackTransport* find(const std::string& address) {
    std::lock_guard lock(mu_);
    auto it = nodes_.find(address);
    return it == nodes_.end() ? nullptr : it->second;
  }
  // Held across every delivery into a service and by a transport's stop(): a stopped transport
  // returns only once no sender is still inside its service, as a gRPC server's Shutdown waits
  // for the calls it runs; the node behind it may then be destroyed. Recursive: a reply may be
  // delivered from inside a delivery.
  std::recursive_mutex& delivering() { return delivering_; }

 private:
  std::recursive_mutex delivering_;
  std::mutex mu_;
  std::map<std::string, LoopbackTransport*> nodes_;
};

inline Status LoopbackTransport::start(const std::string&, transport::PeerService* service) {
  service_ = service;
  net_.add(this);
  return Status::ok();
}

inline void LoopbackTransport::stop() {
  std::lock_guard lock(net_.delivering());
  net_.remove(address_);
}

inline transport::PeerService* LoopbackTransport::reachable(const std::string& address) const {
  if (blocks(address)) return nullptr;
  LoopbackTransport* to = net_.find(address);
  if (!to || to->blocks(address_)) return nullptr;
  return to->service();
}

inline void LoopbackTransport::send(std::vector<raft::Message> messages) {
  std::map<std::string, std::vector<raft::Message>> by_peer;
  {
    std::lock_guard lock(mu_);
    for (auto& m : messages) {
      auto it = peers_.find(m.to());
      if (it != peers_.end()) by_peer[it->second].push_back(std::move(m));
    }
  }
  std::lock_guard lock(net_.delivering());
  for (auto& [address, batch] : by_peer) {
    if (auto* service = reachable(address)) service->onRaftMessages(std::move(batch));
  }
}

inline void LoopbackTransport::forward(const std::string& address, v1::ForwardRequest request,
                                       Deadline, transport::Done<v1::ForwardResponse> done) {
  std::unique_lock lock(net_.delivering());
  auto* service = reachable(address);
  if (!service) {
    lock.unlock();
    return done(unavailable("unreachable " + address));
  }
  service->onForward(std::move(request), [done](v1::ForwardResponse r) { done(std::move(r)); });
}

inline void LoopbackTransport::leave(const std::string& address, v1::LeaveRequest request, Deadline,
                                     transport::Done<v1::MembershipResponse> done) {
  std::unique_lock lock(net_.delivering());
  auto* service = reachable(address);
  if (!service) {
    lock.unlock();
    return done(unavailable("unreachable " + address));
  }
  service->onLeave(std::move(request), [done](v1::MembershipResponse r) { done(std::move(r)); });
}

// One server: data dir, RocksDB, stores, transport, service and node.
struct Server {
  // Opens `existing` (a restart) or a fresh temporary data dir, through `env` when given (fault
  // injection, e.g. storage/full_disk_env.h).
  Server(Network& net, int n, const std::vector<v1::ServerInfo>& voters,
         const std::string& existing = "", rocksdb::Env* env = nullptr) {
    char tmpl[] = "/tmp/cairn-raft-node-XXXXXX";
    dir = existing.empty() ? std::string(::mkdtemp(tmpl)) : existing;
    info = voters[n];
    db = std::move(storage::RocksDb::open(dir, env).value());
    state = std::make_unique<store::StateStore>(*db, watches);
    log = std::move(storage::RocksDbLogStore::open(*db).value());
    if (!log->hasState()) {
      EXPECT_TRUE(RaftNode::bootstrap(*log, voters, "cluster-1").isOk());
    }
    transport = std::make_unique<LoopbackTransport>(net, info.address());
    service = std::make_unique<ClusterService>(info, "dc1", 3);
    EXPECT_TRUE(transport->start(info.address(), service.get()).isOk());
    RaftNode::Options options;
    options.self = info;
    options.storage_health = &db->health();
    options.storage_retry = 50ms;
    options.tick = 10ms;
    options.hold = 3000ms;
    options.snapshot_every = 40;  // small, so that tests cross snapshots and compaction
    options.snapshot_retain = 5;
    node = std::make_unique<RaftNode>(options, *log, *state, transport.get(), metrics,
                                      [](std::function<void()> fn) { std::thread(fn).detach(); });
    EXPECT_TRUE(node->start().isOk());
    service->attach(node.get(), "cluster-1", voters);
  }
  ~Server() {
    stop();
    if (!keep_dir) std::filesystem::remove_all(dir);
  }
  void stop() {
    if (!node) return;
    transport->stop();
    node->stop();
    node.reset();
    service.reset();
    log.reset();
    state.reset();
    db.reset();
  }

  std::string dir;
  bool keep_dir = false;
  v1::ServerInfo info;
  metrics::Metrics metrics{"test", "test"};
  store::WatchHub watches;
  std::unique_ptr<storage::RocksDb> db;
  std::unique_ptr<store::StateStore> state;
  std::unique_ptr<storage::LogStore> log;
  std::unique_ptr<LoopbackTransport> transport;
  std::unique_ptr<ClusterService> service;
  std::unique_ptr<RaftNode> node;
};

inline v1::Command setCommand(const std::string& key, const std::string& value) {
  v1::Command c;
  v1::KvOp* op = c.mutable_txn()->add_ops()->mutable_kv();
  op->set_verb(v1::KV_SET);
  op->set_key(key);
  op->set_value(value);
  return c;
}

inline StatusOr<ProposeResult> proposeAndWait(Node& node, v1::Command command) {
  auto promise = std::make_shared<std::promise<StatusOr<ProposeResult>>>();
  node.propose(std::move(command),
               [promise](StatusOr<ProposeResult> r) { promise->set_value(std::move(r)); });
  return promise->get_future().get();
}

inline Status barrier(Node& node, ReadMode mode) {
  auto promise = std::make_shared<std::promise<Status>>();
  node.readBarrier(mode, [promise](Status s) { promise->set_value(s); });
  return promise->get_future().get();
}

template <typename F>
bool eventually(F condition, std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// Three voters named <name>0..2 with node IDs "<name>-<i>" at 10.0.<net>.<i+1>:8300 (addresses
// only the in-memory transport sees).
inline std::vector<v1::ServerInfo> threeVoters(const std::string& name, int net) {
  std::vector<v1::ServerInfo> voters;
  for (int i = 0; i < 3; ++i) {
    v1::ServerInfo s;
    s.set_node_id(name + "-" + std::to_string(i));
    s.set_id(raftIdFromNodeId(s.node_id()));
    s.set_name(name + std::to_string(i));
    s.set_address("10.0." + std::to_string(net) + "." + std::to_string(i + 1) + ":8300");
    voters.push_back(s);
  }
  return voters;
}

class RaftNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    voters_ = threeVoters("s", 0);
    for (int i = 0; i < 3; ++i) servers_.push_back(std::make_unique<Server>(net_, i, voters_));
  }

  int leader() {
    int found = -1;
    eventually([&] {
      for (size_t i = 0; i < servers_.size(); ++i) {
        if (!servers_[i]->node) continue;
        LeaderStatus s = servers_[i]->node->leaderStatus();
        if (s.known_leader && s.leader_address == servers_[i]->info.address()) {
          found = static_cast<int>(i);
          return true;
        }
      }
      return false;
    });
    return found;
  }

  // Stops server f, writes `writes` keys "<prefix><i>" through server l, then restarts f on its
  // data dir (its log store has state, so it does not bootstrap again).
  void writeWhileDown(int f, int l, const std::string& prefix, int writes) {
    std::string dir = servers_[f]->dir;
    servers_[f]->keep_dir = true;
    servers_[f].reset();
    writeKeys(l, prefix, writes);
    servers_[f] = std::make_unique<Server>(net_, f, voters_, dir);
  }

  // Stops server i and starts it again on its data dir.
  void restart(int i) {
    std::string dir = servers_[i]->dir;
    servers_[i]->keep_dir = true;
    servers_[i].reset();
    servers_[i] = std::make_unique<Server>(net_, i, voters_, dir);
  }

  void writeKeys(int through, const std::string& prefix, int writes) {
    for (int i = 0; i < writes; ++i) {
      auto r =
          proposeAndWait(*servers_[through]->node, setCommand(prefix + std::to_string(i), "v"));
      ASSERT_TRUE(r.isOk()) << r.status().message();
    }
  }

  Network net_;
  std::vector<v1::ServerInfo> voters_;
  std::vector<std::unique_ptr<Server>> servers_;
};

}  // namespace cairn::node::nodetest
