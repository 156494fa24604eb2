// The walk's lane step with AVX-512 IFMA: eight lanes per instruction, Montgomery
// multiplication in radix 2^52, only for primes below CyclicWalk::kIfmaPrimeLimit = 2^52 (one
// 52-bit limb holds any element; larger primes, up to 2^64 - 59, take the scalar step with
// 128-bit products). For a, b < p < 2^52 and R = 2^52:
//   t = a*b (104 bits, as lo52 + hi52 * R), m = lo52 * (-p^-1) mod R,
//   u = (t + m*p) / R = hi52 + hi52(m*p) + carry, carry = (lo52 != 0)
// because lo52 + lo52(m*p) is 0 mod R: it is 0 when lo52 is 0 and R otherwise. u < 2p, and
// one min(u, u - p) (unsigned) finishes the reduction. With b = g^kLanes * R mod p the result
// is a * g^kLanes mod p: the same value as the scalar step, so the walk's sequence does not
// depend on which one runs. Only this file is compiled for these instructions (function
// attributes); the CPU is checked before it is used.
#include <immintrin.h>

#include "dpscan/cyclic.hpp"

#define DPSCAN_IFMA __attribute__((target("avx512f,avx512ifma")))

// GCC 12's _mm512_srli_epi64 and _mm512_min_epu64 pass _mm512_undefined_epi32() as the unused
// merge source, which -Wuninitialized reports where they are inlined (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

namespace dpscan {
namespace {

bool cpu_has_ifma() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512ifma");
}

}  // namespace

void CyclicWalk::set_vector_lanes(bool on) {
  ifma_ = on && mont_.modulus() < kIfmaPrimeLimit && cpu_has_ifma();
}

DPSCAN_IFMA void CyclicWalk::advance_lanes_ifma() {
  static_assert(kLanes % 8 == 0);
  const __m512i p = _mm512_set1_epi64(static_cast<long long>(mont_.modulus()));
  const __m512i g = _mm512_set1_epi64(static_cast<long long>(gl_mont52_));
  const __m512i inv = _mm512_set1_epi64(static_cast<long long>(neg_inv52_));
  const __m512i round_up = _mm512_set1_epi64((1LL << 52) - 1);
  const __m512i zero = _mm512_setzero_si512();
  for (unsigned i = 0; i < kLanes; i += 8) {
    const __m512i a = _mm512_load_si512(lanes_ + i);
    const __m512i lo = _mm512_madd52lo_epu64(zero, a, g);
    const __m512i hi = _mm512_madd52hi_epu64(zero, a, g);
    const __m512i m = _mm512_madd52lo_epu64(zero, lo, inv);
    const __m512i carry = _mm512_srli_epi64(_mm512_add_epi64(lo, round_up), 52);
    const __m512i u = _mm512_add_epi64(_mm512_madd52hi_epu64(hi, m, p), carry);
    _mm512_store_si512(lanes_ + i, _mm512_min_epu64(u, _mm512_sub_epi64(u, p)));
  }
}

}  // namespace dpscan
