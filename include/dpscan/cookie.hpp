// Stateless probe cookies (DESIGN.md, decision 3). A keyed PRF over (source address,
// destination address, destination port) gives 64 bits: the low 32 are the SYN's sequence
// number, bits 32..47 choose the source port inside the configured range, bits 48..63 are
// the IP ID (so the IP ID is never a constant that fingerprints the scanner). An answer is
// ours only when its destination port is that source port and its acknowledgement matches:
// forging one needs the per-scan 128-bit key.
#pragma once

#include <cstdint>

#include "dpscan/siphash.hpp"

namespace dpscan {

struct CookieParams {
  SipKey key{};
  uint16_t sport_first = 32768;
  uint32_t sport_count = 32768;  // 1..65536
};

struct Cookie {
  uint32_t seq;
  uint16_t sport;
  uint16_t ip_id;
};

// SipHash-2-4 of the 10-byte message src(4, network order) | dst(4) | dport(2).
inline uint64_t cookie_hash(const SipKey& key, uint32_t src, uint32_t dst, uint16_t dport) {
  siphash_detail::State s(key);
  s.compress(uint64_t{__builtin_bswap32(src)} | (uint64_t{__builtin_bswap32(dst)} << 32));
  s.compress((uint64_t{10} << 56) | __builtin_bswap16(dport));
  return s.finish();
}

inline Cookie make_cookie(const CookieParams& p, uint32_t src, uint32_t dst, uint16_t dport) {
  const uint64_t h = cookie_hash(p.key, src, dst, dport);
  // Multiply-shift maps 16 random bits onto the range without a division.
  const auto offset = static_cast<uint32_t>(((h >> 32) & 0xffff) * p.sport_count >> 16);
  return {static_cast<uint32_t>(h), static_cast<uint16_t>(p.sport_first + offset),
          static_cast<uint16_t>(h >> 48)};
}

}  // namespace dpscan
