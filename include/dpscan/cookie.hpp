// Stateless probe cookies (docs/design.md, decision 3). A keyed PRF over (source address,
// destination address, destination port) — each address whole, 32 or 128 bits — gives 64
// bits h: the low 32 are the SYN's sequence
// number, bits 32..47 choose the source port inside the configured range, bits 48..63 are
// the IP ID (so the IP ID is never a constant that fingerprints the scanner). An answer is
// ours only when its destination port is that source port and its acknowledgement matches:
// forging one needs the per-scan 128-bit key.
//
// Two PRFs, both keyed with the same 128 bits (k0 and k1 as little-endian bytes 0-15):
//   siphash  SipHash-2-4 of the 10-byte message src | dst | dport (network order); portable.
//   aes      AES-128 (AES-NI) of the 16-byte block src | dst | dport | six zero bytes, h = the
//            first 8 bytes of the ciphertext read little-endian. Measured faster here
//            (docs/benchmarks.md), so it is the default where the CPU has AES-NI.
#pragma once

#include <bit>
#include <cstdint>
#include <string_view>

#include "dpscan/addr.hpp"
#include "dpscan/siphash.hpp"

namespace dpscan {

enum class CookieAlgo : uint8_t { kSipHash, kAes };
std::string_view to_string(CookieAlgo a);
CookieAlgo parse_cookie_algo(std::string_view name);  // "siphash", "aes", "auto"; throws UsageError
bool cpu_has_aes();

// AES-128 round keys (FIPS-197 key expansion), 16-byte aligned for the AES-NI code.
struct alignas(16) AesKeys {
  uint8_t round[11][16];
};
void aes128_expand(AesKeys& out, const SipKey& key);
void aes128_encrypt(const AesKeys& keys, const uint8_t in[16], uint8_t out[16]);  // one block

struct CookieParams {
  SipKey key{};
  CookieAlgo algo = CookieAlgo::kSipHash;
  AesKeys aes{};  // valid when algo == kAes (set_key fills it)
  uint16_t sport_first = 32768;
  uint32_t sport_count = 32768;  // 1..65536

  void set_key(const SipKey& k, CookieAlgo a) {
    key = k;
    algo = a;
    if (a == CookieAlgo::kAes) aes128_expand(aes, k);
  }
};

struct Cookie {
  uint32_t seq;
  uint16_t sport;
  uint16_t ip_id;
};

// SipHash-2-4 of the 10-byte message src(4, network order) | dst(4) | dport(2).
inline uint64_t cookie_hash_siphash(const SipKey& key, uint32_t src, uint32_t dst, uint16_t dport) {
  siphash_detail::State s(key);
  s.compress(uint64_t{__builtin_bswap32(src)} | (uint64_t{__builtin_bswap32(dst)} << 32));
  s.compress((uint64_t{10} << 56) | __builtin_bswap16(dport));
  return s.finish();
}

// The AES-NI PRF, one value or a batch (out of line: compiled for the AES instructions).
uint64_t cookie_hash_aes(const AesKeys& keys, uint32_t src, uint32_t dst, uint16_t dport);
void cookie_hash_aes_batch(const AesKeys& keys, const uint32_t* src, const uint32_t* dst,
                           const uint16_t* dport, uint64_t* out, unsigned n);

// IPv6's message: src(16) | dst(16) | dport(2), network order. SipHash-2-4 takes it in five
// blocks; the AES PRF as a CBC-MAC of three blocks, src, dst, dport and zeros (a secure PRF for
// messages of one fixed length): E(E(E(src) ^ dst) ^ (dport | 0...)).
inline uint64_t cookie_hash_siphash(const SipKey& key, Ipv6Addr src, Ipv6Addr dst, uint16_t dport) {
  siphash_detail::State s(key);
  s.compress(__builtin_bswap64(src.hi()));
  s.compress(__builtin_bswap64(src.lo()));
  s.compress(__builtin_bswap64(dst.hi()));
  s.compress(__builtin_bswap64(dst.lo()));
  s.compress((uint64_t{34} << 56) | __builtin_bswap16(dport));
  return s.finish();
}
uint64_t cookie_hash_aes(const AesKeys& keys, Ipv6Addr src, Ipv6Addr dst, uint16_t dport);
void cookie_hash_aes_batch(const AesKeys& keys, const Ipv6Addr* src, const Ipv6Addr* dst,
                           const uint16_t* dport, uint64_t* out, unsigned n);

// The cookie message is the family's (source, destination, destination port).
inline uint64_t cookie_hash(const CookieParams& p, Ipv4Addr src, Ipv4Addr dst, uint16_t dport) {
  return p.algo == CookieAlgo::kAes ? cookie_hash_aes(p.aes, src.value(), dst.value(), dport)
                                    : cookie_hash_siphash(p.key, src.value(), dst.value(), dport);
}
inline uint64_t cookie_hash(const CookieParams& p, Ipv6Addr src, Ipv6Addr dst, uint16_t dport) {
  return p.algo == CookieAlgo::kAes ? cookie_hash_aes(p.aes, src, dst, dport)
                                    : cookie_hash_siphash(p.key, src, dst, dport);
}
// A burst's hashes (the AES PRF interleaves the probes' rounds).
inline void cookie_hashes(const CookieParams& p, const Ipv4Addr* src, const Ipv4Addr* dst,
                          const uint16_t* dport, uint64_t* out, unsigned n) {
  if (p.algo == CookieAlgo::kAes) {
    static_assert(sizeof(Ipv4Addr) == sizeof(uint32_t));
    cookie_hash_aes_batch(p.aes, reinterpret_cast<const uint32_t*>(src),
                          reinterpret_cast<const uint32_t*>(dst), dport, out, n);
    return;
  }
  for (unsigned i = 0; i < n; ++i)
    out[i] = cookie_hash_siphash(p.key, src[i].value(), dst[i].value(), dport[i]);
}
inline void cookie_hashes(const CookieParams& p, const Ipv6Addr* src, const Ipv6Addr* dst,
                          const uint16_t* dport, uint64_t* out, unsigned n) {
  if (p.algo == CookieAlgo::kAes) {
    cookie_hash_aes_batch(p.aes, src, dst, dport, out, n);
    return;
  }
  for (unsigned i = 0; i < n; ++i) out[i] = cookie_hash_siphash(p.key, src[i], dst[i], dport[i]);
}

// The cookie bits an answer's destination port proves: its share of the source-port range.
inline uint8_t sport_bits(const CookieParams& p) {
  return static_cast<uint8_t>(std::bit_width(p.sport_count) - 1);
}

inline Cookie cookie_from_hash(const CookieParams& p, uint64_t h) {
  // Multiply-shift maps 16 random bits onto the range without a division.
  const auto offset = static_cast<uint32_t>(((h >> 32) & 0xffff) * p.sport_count >> 16);
  return {static_cast<uint32_t>(h), static_cast<uint16_t>(p.sport_first + offset),
          static_cast<uint16_t>(h >> 48)};
}

template <typename A>
inline Cookie make_cookie(const CookieParams& p, A src, A dst, uint16_t dport) {
  return cookie_from_hash(p, cookie_hash(p, src, dst, dport));
}

}  // namespace dpscan
