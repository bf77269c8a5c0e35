// Runs the Raft simulator over many seeds. Environment:
//   CAIRN_SIM_SEEDS=<n>       number of seeds (default: fits a CI budget of ~60 s on 2 cores)
//   CAIRN_SIM_FIRST_SEED=<n>  first seed of the range (default 1)
//   CAIRN_SIM_LONG=1          long mode: 20x the default number of seeds
//   CAIRN_SIM_SEED=<n>        replay exactly one seed and print its trace as it runs
//   CAIRN_SIM_VERBOSE=0       with CAIRN_SIM_SEED: only print the final report

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/sim/simulator.h"

namespace cairn::sim {
namespace {

constexpr uint64_t kDefaultSeeds = 1500;
uint64_t g_current_seed = 0;

uint64_t envU64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : dflt;
}

void onAbort(int) {
  std::fprintf(stderr,
               "\n*** raft CHECK failed during seed %llu; replay with CAIRN_SIM_SEED=%llu\n",
               (unsigned long long)g_current_seed, (unsigned long long)g_current_seed);
  std::signal(SIGABRT, SIG_DFL);
}

void report(uint64_t seed, const SimOptions& o, const SimResult& r) {
  std::fprintf(stderr,
               "seed %llu (%d voters + %d spares): %s\n  %s\n  last events:\n%s"
               "  replay: CAIRN_SIM_SEED=%llu ./sim_test\n",
               (unsigned long long)seed, o.voters, o.spares, r.ok ? "ok" : "FAILED",
               r.failure.c_str(), r.trace.c_str(), (unsigned long long)seed);
}

TEST(RaftSim, ManySeeds) {
  std::signal(SIGABRT, onAbort);
  if (const char* one = std::getenv("CAIRN_SIM_SEED")) {
    uint64_t seed = std::strtoull(one, nullptr, 10);
    SimOptions o = optionsForSeed(seed);
    o.verbose = envU64("CAIRN_SIM_VERBOSE", 1) != 0;
    o.trace_lines = 200;
    g_current_seed = seed;
    SimResult r = Simulator(o).run();
    report(seed, o, r);
    std::fprintf(stderr, "  events=%llu committed=%llu acked=%llu leaders=%llu reads=%llu\n",
                 (unsigned long long)r.events, (unsigned long long)r.committed,
                 (unsigned long long)r.acked, (unsigned long long)r.leaders,
                 (unsigned long long)r.reads);
    EXPECT_TRUE(r.ok);
    return;
  }
  uint64_t count = envU64("CAIRN_SIM_SEEDS", kDefaultSeeds);
  if (envU64("CAIRN_SIM_LONG", 0) != 0) count *= 20;
  uint64_t first = envU64("CAIRN_SIM_FIRST_SEED", 1);
  auto start = std::chrono::steady_clock::now();
  uint64_t failures = 0, events = 0, acked = 0, leaders = 0, reads = 0;
  for (uint64_t seed = first; seed < first + count && failures < 3; ++seed) {
    g_current_seed = seed;
    SimOptions o = optionsForSeed(seed);
    SimResult r = Simulator(o).run();
    events += r.events;
    acked += r.acked;
    leaders += r.leaders;
    reads += r.reads;
    if (!r.ok) {
      ++failures;
      report(seed, o, r);
      ADD_FAILURE() << "seed " << seed << ": " << r.failure;
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::fprintf(stderr,
               "raft sim: %llu seeds from %llu in %.1f s: %llu events, %llu commands acked, "
               "%llu leaders elected, %llu reads checked, %llu failures\n",
               (unsigned long long)count, (unsigned long long)first, secs,
               (unsigned long long)events, (unsigned long long)acked, (unsigned long long)leaders,
               (unsigned long long)reads, (unsigned long long)failures);
}

}  // namespace
}  // namespace cairn::sim
