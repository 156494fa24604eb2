#include "dpscan/cyclic.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/rng.hpp"

namespace dpscan {

uint64_t max_space() {
  return prime_table().back().p - 1;
}

const TabledPrime& prime_for(uint64_t n) {
  for (const auto& tp : prime_table())
    if (tp.p - 1 >= n) return tp;
  throw UsageError(
      fmt::format("scan space of {} targets is larger than the largest cyclic group "
                  "walks ({} = 2^64 - 60)",
                  n, max_space()));
}

uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m) {
  return static_cast<uint64_t>(static_cast<u128>(a) * b % m);
}

uint64_t powmod(uint64_t base, uint64_t exp, uint64_t m) {
  uint64_t result = 1 % m;
  base %= m;
  while (exp) {
    if (exp & 1) result = mulmod(result, base, m);
    base = mulmod(base, base, m);
    exp >>= 1;
  }
  return result;
}

bool is_primitive_root(uint64_t g, const TabledPrime& prime) {
  if (g % prime.p == 0) return false;
  for (uint64_t q : prime.factors) {
    if (q == 0) break;
    if (powmod(g, (prime.p - 1) / q, prime.p) == 1) return false;
  }
  return true;
}

Montgomery::Montgomery(uint64_t odd_modulus) : p_(odd_modulus) {
  // Newton's iteration for p^-1 mod 2^64: each step doubles the correct low bits.
  uint64_t inv = p_;
  for (int i = 0; i < 6; ++i) inv *= 2 - p_ * inv;
  inv_ = inv;
  const auto r = static_cast<uint64_t>((static_cast<u128>(1) << 64) % p_);
  r2_ = mulmod(r, r, p_);
}

uint64_t Montgomery::to_montgomery(uint64_t a) const {
  return mul(a % p_, r2_);
}

CyclicGroup make_group(uint64_t n, uint64_t seed) {
  const TabledPrime& prime = prime_for(n);
  Rng rng(seed);
  CyclicGroup group{prime.p, 0, 0};
  // About phi(p-1)/(p-1) of the candidates are primitive roots (over 22% for our primes),
  // so this loop ends quickly.
  do group.generator = rng.between(2, prime.p - 1);
  while (!is_primitive_root(group.generator, prime));
  group.start = rng.between(1, prime.p - 1);
  return group;
}

CyclicWalk::CyclicWalk(const CyclicGroup& group, uint64_t n, uint64_t begin, uint64_t end)
    : mont_(group.prime),
      gl_mont_(mont_.to_montgomery(powmod(group.generator, kLanes, group.prime))),
      gl_mont52_(mulmod(powmod(group.generator, kLanes, group.prime),
                        (uint64_t{1} << 52) % group.prime, group.prime)),
      neg_inv52_(mont_.neg_inv() & ((uint64_t{1} << 52) - 1)),
      generator_(group.generator),
      first_(mulmod(group.start, powmod(group.generator, begin, group.prime), group.prime)),
      n_(n),
      length_(end - begin),
      remaining_(end - begin) {
  set_vector_lanes(true);
  set_lanes(first_);
}

void CyclicWalk::set_lanes(uint64_t x) {
  const uint64_t p = mont_.modulus();
  for (unsigned i = 0; i < kLanes; ++i) {
    lanes_[i] = x;
    x = mulmod(x, generator_, p);
  }
  lane_ = 0;
}

void CyclicWalk::seek(uint64_t position) {
  if (position > length_) position = length_;
  set_lanes(mulmod(first_, powmod(generator_, position, mont_.modulus()), mont_.modulus()));
  remaining_ = length_ - position;
}

ExponentRange subshard_range(const CyclicGroup& group, uint64_t index, uint64_t count) {
  const u128 order = group.prime - 1;
  return {static_cast<uint64_t>(order * index / count),
          static_cast<uint64_t>(order * (index + 1) / count)};
}

}  // namespace dpscan
