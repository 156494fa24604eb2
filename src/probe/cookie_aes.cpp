// The AES-NI cookie PRF and AES-128 key expansion (FIPS-197 section 5.2, with the
// AESKEYGENASSIST idiom of Intel's AES-NI white paper). Only this file is compiled for the
// AES instructions (function attributes), so the rest of dpscan runs on any x86-64; callers
// check cpu_has_aes() first.
#include <immintrin.h>

#include <cstring>

#include <fmt/format.h>

#include "dpscan/cookie.hpp"
#include "dpscan/error.hpp"

#define DPSCAN_AES __attribute__((target("aes,sse4.1")))

namespace dpscan {
namespace {

DPSCAN_AES inline __m128i expand_step(__m128i key, __m128i assist) {
  assist = _mm_shuffle_epi32(assist, 0xff);
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  key = _mm_xor_si128(key, _mm_slli_si128(key, 4));
  return _mm_xor_si128(key, assist);
}

DPSCAN_AES inline __m128i load(const uint8_t* p) {
  return _mm_load_si128(reinterpret_cast<const __m128i*>(p));
}

DPSCAN_AES inline __m128i encrypt(const AesKeys& k, __m128i b) {
  b = _mm_xor_si128(b, load(k.round[0]));
  for (int r = 1; r < 10; ++r) b = _mm_aesenc_si128(b, load(k.round[r]));
  return _mm_aesenclast_si128(b, load(k.round[10]));
}

// src | dst | dport in network byte order, then zeros: as little-endian 64-bit halves.
DPSCAN_AES inline __m128i block(uint32_t src, uint32_t dst, uint16_t dport) {
  const uint64_t lo = uint64_t{__builtin_bswap32(src)} | (uint64_t{__builtin_bswap32(dst)} << 32);
  const uint64_t hi = __builtin_bswap16(dport);
  return _mm_set_epi64x(static_cast<long long>(hi), static_cast<long long>(lo));
}

// An IPv6 address in network order, as a block.
DPSCAN_AES inline __m128i block(Ipv6Addr a) {
  return _mm_set_epi64x(static_cast<long long>(__builtin_bswap64(a.lo())),
                        static_cast<long long>(__builtin_bswap64(a.hi())));
}

// The CBC-MAC of src | dst | dport (cookie.hpp).
DPSCAN_AES inline __m128i mac6(const AesKeys& k, Ipv6Addr src, Ipv6Addr dst, uint16_t dport) {
  __m128i x = encrypt(k, block(src));
  x = encrypt(k, _mm_xor_si128(x, block(dst)));
  return encrypt(k, _mm_xor_si128(x, _mm_set_epi64x(0, __builtin_bswap16(dport))));
}

DPSCAN_AES uint64_t low64(__m128i v) {
  return static_cast<uint64_t>(_mm_cvtsi128_si64(v));
}

}  // namespace

std::string_view to_string(CookieAlgo a) {
  return a == CookieAlgo::kAes ? "aes" : "siphash";
}

bool cpu_has_aes() {
  return __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
}

CookieAlgo parse_cookie_algo(std::string_view name) {
  if (name == "siphash") return CookieAlgo::kSipHash;
  if (name == "aes") {
    if (!cpu_has_aes()) throw UsageError("--cookie aes: this CPU has no AES-NI instructions");
    return CookieAlgo::kAes;
  }
  if (name == "auto") return cpu_has_aes() ? CookieAlgo::kAes : CookieAlgo::kSipHash;
  throw UsageError(fmt::format("--cookie: '{}' is not one of auto, aes, siphash", name));
}

DPSCAN_AES void aes128_expand(AesKeys& out, const SipKey& key) {
  __m128i k = _mm_set_epi64x(static_cast<long long>(key.k1), static_cast<long long>(key.k0));
  auto store = [&](int i) { _mm_store_si128(reinterpret_cast<__m128i*>(out.round[i]), k); };
  store(0);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x01)), store(1);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x02)), store(2);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x04)), store(3);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x08)), store(4);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x10)), store(5);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x20)), store(6);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x40)), store(7);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x80)), store(8);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x1b)), store(9);
  k = expand_step(k, _mm_aeskeygenassist_si128(k, 0x36)), store(10);
}

DPSCAN_AES void aes128_encrypt(const AesKeys& keys, const uint8_t in[16], uint8_t out[16]) {
  const __m128i c = encrypt(keys, _mm_loadu_si128(reinterpret_cast<const __m128i*>(in)));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), c);
}

DPSCAN_AES uint64_t cookie_hash_aes(const AesKeys& keys, uint32_t src, uint32_t dst,
                                    uint16_t dport) {
  return low64(encrypt(keys, block(src, dst, dport)));
}

DPSCAN_AES void cookie_hash_aes_batch(const AesKeys& keys, const uint32_t* src, const uint32_t* dst,
                                      const uint16_t* dport, uint64_t* out, unsigned n) {
  for (unsigned i = 0; i < n; ++i) out[i] = low64(encrypt(keys, block(src[i], dst[i], dport[i])));
}

DPSCAN_AES uint64_t cookie_hash_aes(const AesKeys& keys, Ipv6Addr src, Ipv6Addr dst,
                                    uint16_t dport) {
  return low64(mac6(keys, src, dst, dport));
}

// Each probe's three blocks depend on each other; the loop body's independent probes let
// the CPU overlap their AES rounds.
DPSCAN_AES void cookie_hash_aes_batch(const AesKeys& keys, const Ipv6Addr* src, const Ipv6Addr* dst,
                                      const uint16_t* dport, uint64_t* out, unsigned n) {
  for (unsigned i = 0; i < n; ++i) out[i] = low64(mac6(keys, src[i], dst[i], dport[i]));
}

}  // namespace dpscan
