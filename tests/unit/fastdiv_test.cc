#include <doctest/doctest.h>

#include <random>

#include "dpscan/fastdiv.hpp"

using dpscan::FastDiv;

TEST_CASE("FastDiv equals hardware division") {
  std::mt19937_64 rng(7);
  std::vector<uint64_t> divisors{
      1, 2, 3, 5, 7, 10, 641, 65535, 65536, 4294967295ULL, 4294967296ULL, (1ULL << 63) + 1, ~0ULL};
  for (int i = 0; i < 200; ++i) divisors.push_back((rng() >> (rng() % 64)) | 1);
  for (uint64_t d : divisors) {
    const FastDiv fd(d);
    for (uint64_t n : {uint64_t{0}, uint64_t{1}, d - 1, d, d + 1, ~uint64_t{0}, ~uint64_t{0} - 1}) {
      CAPTURE(d);
      CAPTURE(n);
      CHECK(fd.div(n) == n / d);
    }
    for (int j = 0; j < 200; ++j) {
      const uint64_t n = rng() >> (rng() % 64);
      CHECK(fd.div(n) == n / d);
    }
  }
}
