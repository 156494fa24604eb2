// The scan order: a walk of the multiplicative group Z*_p (docs/design.md, decision 2; ZMap's
// method). For a space of N targets pick the smallest tabled prime p > N and a random
// primitive root g; the sequence x, x*g, x*g^2, ... (mod p) from a random x visits each of
// 1..p-1 exactly once in p-1 steps. Element e stands for target index e-1; elements above N
// are skipped, so each index comes exactly once (ZMap #913 was an off-by-one here).
//
// The exponent range [0, p-1) is cut into contiguous subshards, one per (machine shard, TX
// lcore). Each walks independently and its progress is one integer, which makes resume exact.
//
// The tabled primes reach 2^64 - 59, so spaces up to 2^64 - 60 (max_space()) have a group:
// IPv6 prefixes x ports as well as all of IPv4 x all ports (2^48).
//
// Multiplication mod p uses Montgomery's method with 64-bit words and 128-bit products (any
// p < 2^64), and a step costs three multiplies and no division. Montgomery form is used only
// for the constant g (stored as g*R mod p): montmul(x, g*R) = x*g mod p, so the walk's values
// stay in ordinary form. Where the CPU has AVX-512 IFMA and p < 2^52 the lanes are stepped
// in vector registers instead (cyclic_ifma.cpp), with the same values.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "dpscan/int128.hpp"

namespace dpscan {

struct TabledPrime {
  uint64_t p;
  std::array<uint64_t, 8> factors;  // distinct prime factors of p - 1, zero-terminated
  uint64_t root;                    // the smallest primitive root (make_group draws its own)
};

// Primes just above 2^(k/4) for k = 6..255 (2^48 + 21 is k = 192), then 2^64 - 59, with the
// factors of p - 1: src/target/primes.cpp, written by scripts/gen-primes.py.
std::span<const TabledPrime> prime_table();

// The largest space (targets x probes each) a group walks: p - 1 of the largest tabled
// prime, 2^64 - 60.
uint64_t max_space();

// The smallest tabled prime p with p - 1 >= n. Throws UsageError if n exceeds max_space().
const TabledPrime& prime_for(uint64_t n);

// Plain (slow, obviously correct) modular arithmetic for set-up and for tests.
uint64_t mulmod(uint64_t a, uint64_t b, uint64_t m);
uint64_t powmod(uint64_t base, uint64_t exp, uint64_t m);
bool is_primitive_root(uint64_t g, const TabledPrime& prime);

class Montgomery {
 public:
  explicit Montgomery(uint64_t odd_modulus);
  uint64_t modulus() const { return p_; }
  // a*b*R^-1 mod p for a, b < p, R = 2^64, any odd p < 2^64. The subtracting form of
  // REDC: with m = t * p^-1 mod R, t - m*p is 0 mod R (the low words are equal), so
  // (t - m*p) / R = hi(t) - hi(m*p), which lies in (-p, p): one conditional add of p
  // reduces it, and nothing overflows even for p near 2^64 (t + m'*p of the adding form
  // can pass 2^128 there).
  uint64_t mul(uint64_t a, uint64_t b) const {
    const u128 t = static_cast<u128>(a) * b;
    const uint64_t m = static_cast<uint64_t>(t) * inv_;
    const auto hi = static_cast<uint64_t>(t >> 64);
    const auto mp_hi = static_cast<uint64_t>((static_cast<u128>(m) * p_) >> 64);
    const uint64_t u = hi - mp_hi;
    return hi < mp_hi ? u + p_ : u;
  }
  uint64_t to_montgomery(uint64_t a) const;
  uint64_t neg_inv() const { return 0 - inv_; }  // -p^-1 mod 2^64

 private:
  uint64_t p_;
  uint64_t inv_;  // p^-1 mod 2^64
  uint64_t r2_;   // R^2 mod p
};

struct CyclicGroup {
  uint64_t prime;
  uint64_t generator;
  uint64_t start;  // the random first element, in [1, p-1]
};

// Picks p for n targets, then a primitive root and a start from the seeded generator.
CyclicGroup make_group(uint64_t n, uint64_t seed);

// One subshard's walk: exponents [begin, end) of the group, yielding target indices < n.
class CyclicWalk {
 public:
  CyclicWalk(const CyclicGroup& group, uint64_t n, uint64_t begin, uint64_t end);

  // Next target index, or false once the subshard is done.
  //
  // kLanes consecutive elements x, xg, ..., xg^(kLanes-1) are kept and each is multiplied by
  // g^kLanes when all have been handed out: the same sequence as one element times g per
  // step, but as independent multiplication chains, which the CPU overlaps (one chain is
  // bound by the latency of three dependent multiplies per element). Where the CPU has
  // AVX-512 IFMA and p < kIfmaPrimeLimit the lanes are stepped eight at a time in vector
  // registers (cyclic_ifma.cpp); larger primes use the scalar step (128-bit products).
  bool next(uint64_t& index) {
    while (remaining_ != 0) {
      if (lane_ == kLanes) advance_lanes();
      const uint64_t e = lanes_[lane_++];
      --remaining_;
      if (e <= n_) {
        index = e - 1;
        return true;
      }
    }
    return false;
  }

  // The next target indices into out[0..n): the same sequence as n calls of next(). Returns
  // how many were written, fewer than n only when the subshard is done. Elements above the
  // space are dropped without a branch (out[k] is written, k not advanced).
  unsigned next_batch(uint64_t* out, unsigned n) {
    unsigned k = 0;
    while (k < n && remaining_ != 0) {
      if (lane_ == kLanes) advance_lanes();
      uint64_t take = kLanes - lane_;
      if (take > n - k) take = n - k;
      if (take > remaining_) take = remaining_;
      const uint64_t last = n_;
      for (const uint64_t* e = lanes_ + lane_; e != lanes_ + lane_ + take; ++e) {
        out[k] = *e - 1;
        k += *e <= last ? 1 : 0;
      }
      lane_ += static_cast<unsigned>(take);
      remaining_ -= take;
    }
    return k;
  }

  // Exponent steps taken so far (the checkpoint position), and skipping ahead to one.
  uint64_t position() const { return length_ - remaining_; }
  void seek(uint64_t position);
  uint64_t length() const { return length_; }

  static constexpr unsigned kLanes = 32;
  // IFMA's Montgomery multiplication works in radix 2^52: an element must fit one 52-bit limb.
  static constexpr uint64_t kIfmaPrimeLimit = uint64_t{1} << 52;
  // Whether advance_lanes() uses AVX-512 IFMA (set from the CPU and the prime; tests turn it
  // off to compare).
  bool vector_lanes() const { return ifma_; }
  void set_vector_lanes(bool on);

 private:
  void advance_lanes() {
    if (ifma_) {
      advance_lanes_ifma();
    } else {
      for (unsigned i = 0; i < kLanes; ++i) lanes_[i] = mont_.mul(lanes_[i], gl_mont_);
    }
    lane_ = 0;
  }
  void advance_lanes_ifma();
  void set_lanes(uint64_t x);  // lanes = x, xg, ..., xg^(kLanes-1)

  alignas(64) uint64_t lanes_[kLanes];
  Montgomery mont_;
  uint64_t gl_mont_;    // g^kLanes in Montgomery form (R = 2^64)
  uint64_t gl_mont52_;  // g^kLanes * 2^52 mod p (the IFMA code's Montgomery form, R = 2^52)
  uint64_t neg_inv52_;  // -p^-1 mod 2^52
  uint64_t generator_;
  uint64_t first_;     // element at exponent begin
  unsigned lane_ = 0;  // next lane to hand out
  bool ifma_ = false;
  uint64_t n_;
  uint64_t length_;
  uint64_t remaining_;
};

// Exponent range of subshard `index` out of `count`: [p-1)*index/count, (p-1)*(index+1)/count).
struct ExponentRange {
  uint64_t begin;
  uint64_t end;
};
ExponentRange subshard_range(const CyclicGroup& group, uint64_t index, uint64_t count);

}  // namespace dpscan
