// A small, fully specified PRNG (SplitMix64). The scan order must be a function of --seed
// alone, on every machine and compiler: std::uniform_int_distribution is implementation-
// defined, so it is not used for anything that shapes the scan.
#pragma once

#include <cstdint>

namespace dpscan {

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi], by rejection (no modulo bias).
  uint64_t between(uint64_t lo, uint64_t hi) {
    const uint64_t span = hi - lo;
    if (span == ~uint64_t{0}) return next();
    const uint64_t n = span + 1;
    const uint64_t limit = ~uint64_t{0} - (~uint64_t{0} % n);
    uint64_t v;
    do v = next();
    while (v >= limit);
    return lo + v % n;
  }

 private:
  uint64_t state_;
};

// A seed from the operating system's entropy source.
uint64_t random_seed();

}  // namespace dpscan
