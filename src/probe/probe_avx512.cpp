// Cookies and patches for sixteen probes at a time with AVX-512 and VAES (docs/design.md,
// decision 4; docs/architecture.md, "TX path"). The scalar path (probe_batch.hpp) computes
// per probe: the AES block, ten AES rounds, the cookie fields, two checksums and eight
// stores. Here the same arithmetic runs on sixteen probes in 32-bit lanes:
//   1. AES: the blocks src | dst | dport | 0 (network order) are formed by a 4x4 transpose
//      of the lane vectors, four blocks per VAES instruction; the first eight bytes of each
//      ciphertext are transposed back (LO = sequence number, HI = source port and IP ID bits).
//   2. The cookie's fields and both checksums, exactly as ProbeTemplate::patch computes them.
//   3. The seven 32-bit words of the frame that hold variable bytes (offsets 16..51) are
//      formed in lanes, transposed to one vector per pair of probes, and merged into the
//      template's first 64 bytes with one masked permute per probe: one 64-byte store per
//      frame.
// The result is byte-for-byte the scalar path's (tests/unit/probe_batch_test.cc). Only this
// file is compiled for these instructions (function attributes); the CPU is checked first.
#include <cpuid.h>
#include <immintrin.h>

#include <cstring>

#include "probe/probe_batch.hpp"

#define DPSCAN_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,vaes,aes")))

// GCC 12's AVX-512 shift and min intrinsics pass _mm512_undefined_epi32() as the unused merge
// source, which -W(maybe-)uninitialized reports where they are inlined (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace dpscan {
namespace {

// The frame's 32-bit words (little-endian, offsets 4w..4w+3) that hold variable bytes.
constexpr int kWords[7] = {4, 6, 7, 8, 9, 10, 12};

// A pshufb control that moves bytes b0..b3 (0x80: zero) of each 32-bit word into its bytes
// 0..3. pshufb indexes bytes within each 128-bit lane, so each word's control is offset by
// the word's position in the lane. Built at compile time: the TX path calls this per burst.
struct alignas(64) Control {
  uint8_t bytes[64];
};
constexpr Control bytes_control(int b0, int b1, int b2, int b3) {
  const int b[4] = {b0, b1, b2, b3};
  Control c{};
  for (int i = 0; i < 64; ++i) {
    const int v = b[i % 4];
    c.bytes[i] = static_cast<uint8_t>(v & 0x80 ? 0x80 : (i % 16) / 4 * 4 + v);
  }
  return c;
}
constexpr Control kBswap32 = bytes_control(3, 2, 1, 0);
constexpr Control kSwap16Low = bytes_control(1, 0, 0x80, 0x80);   // bswap16(x) in the low half
constexpr Control kSwap16High = bytes_control(0x80, 0x80, 1, 0);  // bswap16(x) << 16

// Permute indices: which dword of a two-probe vector goes to each frame word (the first
// probe's words are at dwords 0-3 and 8-11 of the vector, the second's at 4-7 and 12-15).
struct alignas(64) Index {
  int32_t dword[16];
};
constexpr Index word_index(int second) {
  Index x{};
  for (int v = 0; v < 7; ++v) x.dword[kWords[v]] = (v < 4 ? v : 8 + (v - 4)) + 4 * second;
  return x;
}
constexpr Index kFirst = word_index(0), kSecond = word_index(1);
constexpr __mmask16 kWordsMask =
    (1u << 4) | (1u << 6) | (1u << 7) | (1u << 8) | (1u << 9) | (1u << 10) | (1u << 12);

DPSCAN_AVX512 inline __m512i load(const void* p) {
  return _mm512_load_si512(p);
}

DPSCAN_AVX512 inline __m512i fold_complement(__m512i s, __m512i low16) {
  s = _mm512_add_epi32(_mm512_and_si512(s, low16), _mm512_srli_epi32(s, 16));
  s = _mm512_add_epi32(_mm512_and_si512(s, low16), _mm512_srli_epi32(s, 16));
  return _mm512_andnot_si512(s, low16);  // ~s & 0xffff
}

DPSCAN_AVX512 inline __m512i aes4(const __m512i* rk, __m512i b) {
  b = _mm512_xor_si512(b, rk[0]);
  for (int r = 1; r < 10; ++r) b = _mm512_aesenc_epi128(b, rk[r]);
  return _mm512_aesenclast_epi128(b, rk[10]);
}

}  // namespace

bool cpu_has_avx512_probes() {
  // VAES by CPUID leaf 7 (ECX bit 9): clang 14's __builtin_cpu_supports does not know it.
  // The builtin's avx512f also covers the OS saving the AVX-512 registers (XCR0).
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool vaes = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 9)) != 0;
  return vaes && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("aes");
}

DPSCAN_AVX512 void patch_probes_aes_avx512(const ProbeTemplate& tmpl, const CookieParams& cookie,
                                           const uint32_t* src, const uint32_t* dst,
                                           const uint16_t* dport, uint8_t* const* frames,
                                           unsigned n) {
  __m512i rk[11];
  for (int r = 0; r < 11; ++r)
    rk[r] = _mm512_broadcast_i32x4(
        _mm_load_si128(reinterpret_cast<const __m128i*>(cookie.aes.round[r])));
  uint8_t head[64] = {};
  std::memcpy(head, tmpl.bytes(), tmpl.size() < 64 ? tmpl.size() : 64);
  const __m512i templ = _mm512_loadu_si512(head);
  uint32_t tw[16];
  std::memcpy(tw, head, 64);
  const __m512i low16 = _mm512_set1_epi32(0xffff);
  const __m512i w4_const = _mm512_set1_epi32(static_cast<int>(tw[4] & 0xffff));
  const __m512i w10_const = _mm512_set1_epi32(static_cast<int>(tw[10] & 0xffff0000u));
  const __m512i w12_const = _mm512_set1_epi32(static_cast<int>(tw[12] & 0xffff));
  const __m512i bswap32 = load(&kBswap32), swap16_low = load(&kSwap16Low);
  const __m512i swap16_high = load(&kSwap16High);
  const __m512i ip_sum = _mm512_set1_epi32(static_cast<int>(tmpl.ip_sum()));
  const __m512i tcp_sum = _mm512_set1_epi32(static_cast<int>(tmpl.tcp_sum()));
  const __m512i sport_first = _mm512_set1_epi32(cookie.sport_first);
  const __m512i sport_count = _mm512_set1_epi32(static_cast<int>(cookie.sport_count));
  const __m512i zero = _mm512_setzero_si512();

  const __m512i first = load(&kFirst), second = load(&kSecond);

  for (unsigned base = 0; base < n; base += 16) {
    const __m512i s = _mm512_loadu_si512(src + base);
    const __m512i d = _mm512_loadu_si512(dst + base);
    const __m512i p =
        _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(dport + base)));
    const __m512i bs = _mm512_shuffle_epi8(s, bswap32);
    const __m512i bd = _mm512_shuffle_epi8(d, bswap32);
    const __m512i bp = _mm512_shuffle_epi8(p, swap16_low);

    // AES blocks of probes 4j+r in lane j of blk[r], encrypted, transposed back.
    const __m512i t0 = _mm512_unpacklo_epi32(bs, bd), t1 = _mm512_unpackhi_epi32(bs, bd);
    const __m512i t2 = _mm512_unpacklo_epi32(bp, zero), t3 = _mm512_unpackhi_epi32(bp, zero);
    const __m512i h0 = aes4(rk, _mm512_unpacklo_epi64(t0, t2));
    const __m512i h1 = aes4(rk, _mm512_unpackhi_epi64(t0, t2));
    const __m512i h2 = aes4(rk, _mm512_unpacklo_epi64(t1, t3));
    const __m512i h3 = aes4(rk, _mm512_unpackhi_epi64(t1, t3));
    const __m512i u0 = _mm512_unpacklo_epi32(h0, h1), u1 = _mm512_unpacklo_epi32(h2, h3);
    const __m512i seq = _mm512_unpacklo_epi64(u0, u1);
    const __m512i hi = _mm512_unpackhi_epi64(u0, u1);

    // The cookie (cookie_from_hash) and both checksums (ProbeTemplate::patch).
    const __m512i sport = _mm512_add_epi32(
        sport_first,
        _mm512_srli_epi32(_mm512_mullo_epi32(_mm512_and_si512(hi, low16), sport_count), 16));
    const __m512i ip_id = _mm512_srli_epi32(hi, 16);
    const __m512i addrs =
        _mm512_add_epi32(_mm512_add_epi32(_mm512_srli_epi32(s, 16), _mm512_and_si512(s, low16)),
                         _mm512_add_epi32(_mm512_srli_epi32(d, 16), _mm512_and_si512(d, low16)));
    const __m512i ip_check =
        fold_complement(_mm512_add_epi32(_mm512_add_epi32(ip_sum, addrs), ip_id), low16);
    __m512i tsum = _mm512_add_epi32(tcp_sum, addrs);
    tsum = _mm512_add_epi32(
        tsum, _mm512_add_epi32(_mm512_srli_epi32(seq, 16), _mm512_and_si512(seq, low16)));
    tsum = _mm512_add_epi32(tsum, _mm512_add_epi32(sport, p));
    const __m512i tcp_check = fold_complement(tsum, low16);

    // The variable words, in frame byte order.
    const __m512i bq = _mm512_shuffle_epi8(seq, bswap32);
    __m512i w[8];
    w[0] = _mm512_or_si512(w4_const, _mm512_shuffle_epi8(ip_id, swap16_high));
    w[1] = _mm512_or_si512(_mm512_shuffle_epi8(ip_check, swap16_low), _mm512_slli_epi32(bs, 16));
    w[2] = _mm512_or_si512(_mm512_srli_epi32(bs, 16), _mm512_slli_epi32(bd, 16));
    w[3] = _mm512_or_si512(_mm512_srli_epi32(bd, 16), _mm512_shuffle_epi8(sport, swap16_high));
    w[4] = _mm512_or_si512(bp, _mm512_slli_epi32(bq, 16));
    w[5] = _mm512_or_si512(_mm512_srli_epi32(bq, 16), w10_const);
    w[6] = _mm512_or_si512(w12_const, _mm512_shuffle_epi8(tcp_check, swap16_high));
    w[7] = zero;

    // Transpose: a[r] lane j holds words 0-3 (b) and 4-7 (b + 4) of probe 4j + r.
    __m512i a[8], b[8];
    for (int q = 0; q < 2; ++q) {
      const int o = 4 * q;
      a[o + 0] = _mm512_unpacklo_epi32(w[o + 0], w[o + 1]);
      a[o + 1] = _mm512_unpackhi_epi32(w[o + 0], w[o + 1]);
      a[o + 2] = _mm512_unpacklo_epi32(w[o + 2], w[o + 3]);
      a[o + 3] = _mm512_unpackhi_epi32(w[o + 2], w[o + 3]);
      b[o + 0] = _mm512_unpacklo_epi64(a[o + 0], a[o + 2]);
      b[o + 1] = _mm512_unpackhi_epi64(a[o + 0], a[o + 2]);
      b[o + 2] = _mm512_unpacklo_epi64(a[o + 1], a[o + 3]);
      b[o + 3] = _mm512_unpackhi_epi64(a[o + 1], a[o + 3]);
    }
    for (unsigned r = 0; r < 4; ++r) {
      // Lanes 0,1 of b[r] and of b[r+4]: probes r and 4+r; lanes 2,3: probes 8+r and 12+r.
      const __m512i pair_low = _mm512_shuffle_i32x4(b[r], b[r + 4], _MM_SHUFFLE(1, 0, 1, 0));
      const __m512i pair_high = _mm512_shuffle_i32x4(b[r], b[r + 4], _MM_SHUFFLE(3, 2, 3, 2));
      const __m512i pairs[2] = {pair_low, pair_high};
      for (unsigned h = 0; h < 2; ++h) {
        const unsigned i0 = base + 8 * h + r, i1 = i0 + 4;
        if (i0 < n)
          _mm512_storeu_si512(frames[i0],
                              _mm512_mask_permutexvar_epi32(templ, kWordsMask, first, pairs[h]));
        if (i1 < n)
          _mm512_storeu_si512(frames[i1],
                              _mm512_mask_permutexvar_epi32(templ, kWordsMask, second, pairs[h]));
      }
    }
  }
}

}  // namespace dpscan
