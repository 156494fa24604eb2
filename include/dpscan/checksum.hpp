// The Internet checksum (RFC 1071) as a 32-bit ones'-complement accumulator of big-endian
// 16-bit words. Probes are checksummed incrementally: the template's constant bytes are
// summed once, and each probe adds only the words it changes, then folds.
//
// checksum_add() reads 32-bit words in the machine's byte order into a 64-bit accumulator
// and byte-swaps the folded result once: the ones'-complement sum commutes with byte
// swapping (RFC 1071 section 2(B)), and this is several times faster than a loop of
// big-endian 16-bit loads on the receive path, which verifies every answer's checksums.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dpscan/bytes.hpp"

namespace dpscan {

inline uint32_t fold16(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint32_t>(s);
}

// Adds the big-endian 16-bit words of p[0..len) to sum; an odd trailing byte is padded
// with zero.
inline uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len) {
  uint64_t s = 0;
  for (; len >= 4; p += 4, len -= 4) {
    uint32_t w;
    std::memcpy(&w, p, 4);
    s += w;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, 2);
    s += w;
    p += 2;
    len -= 2;
  }
  if (len) s += *p;  // little-endian: the padded big-endian word's high byte is our low byte
  const auto native = static_cast<uint16_t>(fold16(s));
  return sum + __builtin_bswap16(native);
}

inline uint32_t checksum_add32(uint32_t sum, uint32_t v) {
  return sum + (v >> 16) + (v & 0xffff);
}

inline uint16_t checksum_fold(uint64_t sum) {
  return static_cast<uint16_t>(~fold16(sum) & 0xffff);
}

// TCP/UDP pseudo-header (RFC 793 section 3.1).
inline uint32_t pseudo_header_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len) {
  return checksum_add32(checksum_add32(0, src), dst) + proto + len;
}

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "checksum_add assumes a little-endian CPU");

}  // namespace dpscan
