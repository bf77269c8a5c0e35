#pragma once
// Random: injected randomness, so that simulation runs replay exactly from a seed.

#include <cstdint>
#include <random>

namespace cairn {

class Random {
 public:
  virtual ~Random() = default;
  // Uniform in [0, bound); bound > 0.
  virtual uint64_t uniform(uint64_t bound) = 0;
};

// Deterministic for a given seed. Not thread-safe: give each thread its own.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  uint64_t uniform(uint64_t bound) override {
    return std::uniform_int_distribution<uint64_t>(0, bound - 1)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace cairn
