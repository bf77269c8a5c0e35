// Reads stay linearizable while servers restart and links are cut, at the level of RaftNode (the
// simulator checks the Raft core; this checks the node around it: read rounds, waiting for the
// applied index, restarts on a data dir). One writer writes increasing numbers to one key through
// random servers; readers on every server check that a read that began after number n was
// acknowledged returns at least n. A fault thread restarts servers (leader or not) on their data
// dirs and isolates them for a moment. CAIRN_NODE_CHAOS_SECONDS sets the length (default 6 s).
#include <atomic>
#include <random>
#include <shared_mutex>

#include "tests/unit/node/raft_node_harness.h"

namespace cairn::node {
namespace {

using namespace std::chrono_literals;
using namespace nodetest;

std::chrono::milliseconds chaosLength() {
  const char* s = std::getenv("CAIRN_NODE_CHAOS_SECONDS");
  return std::chrono::milliseconds(s ? std::atoi(s) * 1000 : 6000);
}

// The key's value as a number (0 when absent).
uint64_t readNumber(const store::StateStore& state) {
  auto got = state.get("k");
  return got.found ? std::stoull(got.entry.value) : 0;
}

class RaftNodeChaosTest : public ::testing::Test {
 protected:
  struct Slot {
    std::shared_mutex mu;  // shared: an operation on the server; exclusive: replacing it
    std::unique_ptr<Server> server;
  };

  void SetUp() override {
    voters_ = threeVoters("c", 1);
    for (int i = 0; i < 3; ++i) slots_[i].server = std::make_unique<Server>(net_, i, voters_);
  }

  // Runs fn(server) unless server i is being replaced; returns whether it ran.
  template <typename F>
  bool use(int i, F fn) {
    std::shared_lock lock(slots_[i].mu);
    if (!slots_[i].server || !slots_[i].server->node) return false;
    fn(*slots_[i].server);
    return true;
  }

  void restart(int i) {
    // Stopping the node first fails its waiting requests, so the users holding the slot let go.
    use(i, [](Server& s) { s.node->stop(); });
    std::unique_lock lock(slots_[i].mu);
    std::string dir = slots_[i].server->dir;
    slots_[i].server->keep_dir = true;
    slots_[i].server.reset();
    slots_[i].server = std::make_unique<Server>(net_, i, voters_, dir);
  }

  void isolate(int i, std::chrono::milliseconds length) {
    std::set<std::string> others;
    for (int j = 0; j < 3; ++j) {
      if (j != i) others.insert(voters_[j].address());
    }
    use(i, [&](Server& s) { s.transport->setBlockedPeers(others); });
    std::this_thread::sleep_for(length);
    use(i, [&](Server& s) { s.transport->setBlockedPeers({}); });
  }

  void writer(std::mt19937_64 rng) {
    for (uint64_t n = 1; !stop_; ++n) {
      use(static_cast<int>(rng() % 3), [&](Server& s) {
        if (proposeAndWait(*s.node, setCommand("k", std::to_string(n))).isOk()) {
          uint64_t seen = acked_.load();
          while (seen < n && !acked_.compare_exchange_weak(seen, n)) {
          }
        }
      });
    }
  }

  void reader(std::mt19937_64 rng) {
    while (!stop_) {
      int i = static_cast<int>(rng() % 3);
      ReadMode mode = rng() % 2 ? ReadMode::kDefault : ReadMode::kConsistent;
      uint64_t before = acked_.load();
      use(i, [&](Server& s) {
        if (!barrier(*s.node, mode).isOk()) return;
        uint64_t got = readNumber(*s.state);
        ++reads_checked_;
        if (got >= before) return;
        std::lock_guard lock(mu_);
        violations_.push_back(
            voters_[i].name() + (mode == ReadMode::kDefault ? " default" : " consistent") +
            " read " + std::to_string(got) + " after " + std::to_string(before) +
            " was acknowledged (applied index " + std::to_string(s.state->appliedIndex()) + ")");
      });
    }
  }

  void faults(std::mt19937_64 rng, std::chrono::milliseconds length) {
    auto end = std::chrono::steady_clock::now() + length;
    while (std::chrono::steady_clock::now() < end) {
      int i = static_cast<int>(rng() % 3);
      if (rng() % 2) {
        restart(i);
        ++restarts_;
      } else {
        isolate(i, std::chrono::milliseconds(100 + rng() % 500));
        ++isolations_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    }
  }

  Network net_;
  std::vector<v1::ServerInfo> voters_;
  Slot slots_[3];
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> reads_checked_{0};
  int restarts_ = 0, isolations_ = 0;
  std::mutex mu_;
  std::vector<std::string> violations_;
};

TEST_F(RaftNodeChaosTest, ReadsSeeEveryAcknowledgedWriteAcrossRestartsAndPartitions) {
  uint64_t seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  std::vector<std::thread> clients;
  clients.emplace_back([this, r = rng()] { writer(std::mt19937_64(r)); });
  for (int i = 0; i < 3; ++i)
    clients.emplace_back([this, r = rng()] { reader(std::mt19937_64(r)); });
  faults(std::mt19937_64(rng()), chaosLength());
  stop_ = true;
  for (auto& t : clients) t.join();

  std::cerr << "chaos: " << restarts_ << " restarts, " << isolations_ << " isolations, "
            << acked_.load() << " writes acknowledged, " << reads_checked_.load()
            << " reads checked\n";
  for (const auto& v : violations_) ADD_FAILURE() << v;
  // After the faults, the cluster still takes a write, and every server reads it.
  uint64_t last = acked_.load() + 1000;
  ASSERT_TRUE(eventually([&] {
    bool ok = false;
    use(0, [&](Server& s) {
      ok = proposeAndWait(*s.node, setCommand("k", std::to_string(last))).isOk();
    });
    return ok;
  }));
  for (int i = 0; i < 3; ++i) {
    use(i, [&](Server& s) {
      ASSERT_TRUE(barrier(*s.node, ReadMode::kConsistent).isOk());
      EXPECT_EQ(readNumber(*s.state), last);
    });
  }
}

}  // namespace
}  // namespace cairn::node
