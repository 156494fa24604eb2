#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "dpscan/cyclic.hpp"
#include "dpscan/int128.hpp"

using namespace dpscan;

namespace {

// Deterministic Miller-Rabin: these bases are exact for n < 3.3 * 10^24 (Sorenson & Webster),
// so a pass is a proof of primality for every tabled prime. Uses plain 128-bit arithmetic,
// independent of the Montgomery code under test.
uint64_t pm(uint64_t b, uint64_t e, uint64_t m) {
  u128 r = 1, x = b % m;
  while (e) {
    if (e & 1) r = r * x % m;
    x = x * x % m;
    e >>= 1;
  }
  return static_cast<uint64_t>(r);
}
bool is_prime(uint64_t n) {
  if (n < 2) return false;
  for (uint64_t p : {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41})
    if (n % p == 0) return n == p;
  uint64_t d = n - 1;
  int s = 0;
  while (d % 2 == 0) d /= 2, ++s;
  for (uint64_t a : {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41}) {
    uint64_t x = pm(a, d, n);
    if (x == 1 || x == n - 1) continue;
    bool composite = true;
    for (int r = 1; r < s && composite; ++r) {
      x = static_cast<uint64_t>(u128{x} * x % n);
      if (x == n - 1) composite = false;
    }
    if (composite) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("every tabled prime is prime and its factor list of p-1 is complete and prime") {
  uint64_t prev = 0;
  for (const auto& tp : prime_table()) {
    CAPTURE(tp.p);
    CHECK(is_prime(tp.p));
    CHECK(tp.p > prev);
    prev = tp.p;
    uint64_t rest = tp.p - 1;
    for (uint64_t q : tp.factors) {
      if (q == 0) break;
      CHECK(is_prime(q));
      CHECK(rest % q == 0);
      while (rest % q == 0) rest /= q;
    }
    CHECK(rest == 1);
  }
  CHECK(prime_table().back().p > (uint64_t{1} << 48));
}

TEST_CASE("the chosen generator is a primitive root (checked by its order)") {
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{100}, uint64_t{65536}, uint64_t{49152},
                     uint64_t{1} << 32, (uint64_t{1} << 48)}) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      const CyclicGroup g = make_group(n, seed);
      CAPTURE(n);
      CAPTURE(g.prime);
      CAPTURE(g.generator);
      CHECK(g.prime - 1 >= n);
      const TabledPrime& tp = prime_for(n);
      CHECK(tp.p == g.prime);
      // order of g is p-1 iff g^((p-1)/q) != 1 for each prime q | p-1 (using pm, not powmod)
      for (uint64_t q : tp.factors) {
        if (q == 0) break;
        CHECK(pm(g.generator, (g.prime - 1) / q, g.prime) != 1);
      }
      CHECK(g.start >= 1);
      CHECK(g.start < g.prime);
    }
  }
}

TEST_CASE("the smallest tabled prime is chosen") {
  const auto table = prime_table();
  for (size_t i = 1; i < table.size(); ++i) {
    const uint64_t n = table[i].p - 1;  // just fits
    CHECK(prime_for(n).p == table[i].p);
    CHECK(prime_for(table[i - 1].p - 1).p == table[i - 1].p);
    CHECK(prime_for(table[i - 1].p).p == table[i].p);  // just above the previous boundary
  }
}

TEST_CASE("Montgomery multiplication equals plain mulmod") {
  std::mt19937_64 rng(3);
  for (const auto& tp : prime_table()) {
    const Montgomery m(tp.p);
    for (int i = 0; i < 50; ++i) {
      const uint64_t a = rng() % tp.p, b = rng() % tp.p;
      CHECK(m.mul(a, m.to_montgomery(b)) == mulmod(a, b, tp.p));
    }
  }
}

TEST_CASE("a full walk visits every index exactly once, sizes around prime boundaries") {
  std::vector<uint64_t> sizes{1, 2, 3, 4, 5, 6, 7, 100, 1000};
  for (const auto& tp : prime_table()) {
    if (tp.p > 70000) break;
    for (uint64_t d : {uint64_t{2}, uint64_t{1}, uint64_t{0}}) sizes.push_back(tp.p - 1 - d);
    sizes.push_back(tp.p);
  }
  for (uint64_t n : sizes) {
    for (uint64_t subshards : {uint64_t{1}, uint64_t{3}, uint64_t{64}}) {
      CAPTURE(n);
      CAPTURE(subshards);
      const CyclicGroup g = make_group(n, n * 31 + subshards);
      std::vector<uint8_t> seen(n, 0);
      uint64_t count = 0;
      for (uint64_t s = 0; s < subshards; ++s) {
        const auto r = subshard_range(g, s, subshards);
        CyclicWalk w(g, n, r.begin, r.end);
        uint64_t idx;
        while (w.next(idx)) {
          REQUIRE(idx < n);
          REQUIRE(seen[idx] == 0);
          seen[idx] = 1;
          ++count;
        }
      }
      CHECK(count == n);
    }
  }
}

TEST_CASE("seek resumes a walk exactly where it was") {
  const uint64_t n = 5000;
  const CyclicGroup g = make_group(n, 77);
  CyclicWalk a(g, n, 0, g.prime - 1);
  std::vector<uint64_t> all;
  uint64_t idx;
  while (a.next(idx)) all.push_back(idx);
  CyclicWalk b(g, n, 0, g.prime - 1);
  std::vector<uint64_t> resumed;
  for (int i = 0; i < 1234 && b.next(idx); ++i) resumed.push_back(idx);
  CyclicWalk c(g, n, 0, g.prime - 1);
  c.seek(b.position());
  while (c.next(idx)) resumed.push_back(idx);
  CHECK(resumed == all);
}

TEST_CASE("same seed, same order; other seed, other order") {
  const uint64_t n = 10000;
  auto order = [&](uint64_t seed) {
    const CyclicGroup g = make_group(n, seed);
    CyclicWalk w(g, n, 0, g.prime - 1);
    std::vector<uint64_t> v;
    uint64_t idx;
    while (w.next(idx)) v.push_back(idx);
    return v;
  };
  CHECK(order(5) == order(5));
  CHECK(order(5) != order(6));
}

// The walk against its definition, element i = start * g^i mod p (plain mulmod), for every
// tabled prime up to 2^48 + 21, with the AVX-512 IFMA lane step (where the CPU has it) and
// the scalar Montgomery step: the order must not depend on the CPU.
TEST_CASE("the walk is start * g^i mod p, with vector and scalar lanes") {
  for (const auto& tp : prime_table()) {
    CAPTURE(tp.p);
    const uint64_t n = tp.p - 1;  // every element is a target: the raw sequence
    const CyclicGroup g = make_group(n, tp.p ^ 0x5eed);
    for (bool vector : {true, false}) {
      CAPTURE(vector);
      for (uint64_t begin : {uint64_t{0}, n / 3, n > 5000 ? n - 5000 : uint64_t{0}}) {
        CyclicWalk w(g, n, begin, n);
        w.set_vector_lanes(vector);
        if (vector && !w.vector_lanes()) MESSAGE("no AVX-512 IFMA here: the scalar step twice");
        uint64_t e = mulmod(g.start, powmod(g.generator, begin, g.prime), g.prime);
        uint64_t idx;
        for (int i = 0; i < 3000 && w.next(idx); ++i) {
          REQUIRE(idx == e - 1);
          e = mulmod(e, g.generator, g.prime);
        }
      }
    }
  }
}

TEST_CASE("next_batch yields exactly the sequence of next(), in any batch size") {
  std::mt19937_64 rng(99);
  for (uint64_t n :
       {uint64_t{1}, uint64_t{70}, uint64_t{1000}, uint64_t{65000}, uint64_t{262144}}) {
    const CyclicGroup g = make_group(n, n + 1);
    const auto r = subshard_range(g, 1, 3);  // a middle subshard: ends inside the group
    CyclicWalk ref(g, n, r.begin, r.end);
    std::vector<uint64_t> want;
    uint64_t idx;
    while (ref.next(idx)) want.push_back(idx);
    for (bool vector : {true, false}) {
      for (unsigned size : {1u, 3u, 32u, 33u, 64u, 0u}) {
        CAPTURE(n);
        CAPTURE(vector);
        CAPTURE(size);
        CyclicWalk w(g, n, r.begin, r.end);
        w.set_vector_lanes(vector);
        std::vector<uint64_t> got;
        uint64_t out[64];
        for (;;) {
          const unsigned ask = size ? size : static_cast<unsigned>(1 + rng() % 64);
          const unsigned k = w.next_batch(out, ask);
          got.insert(got.end(), out, out + k);
          if (k < ask) break;
          if (got.size() % 7 == 0 && w.next(idx)) got.push_back(idx);  // mixed with next()
        }
        CHECK(got == want);
        CHECK(w.position() == w.length());
      }
    }
  }
}
