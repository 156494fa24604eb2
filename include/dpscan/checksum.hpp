// The Internet checksum (RFC 1071) as a 32-bit ones'-complement accumulator. Probes are
// checksummed incrementally (RFC 1624 in spirit): the template's constant bytes are summed
// once, and each probe adds only the 16-bit words it changes, then folds.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dpscan/bytes.hpp"

namespace dpscan {

// Sum of big-endian 16-bit words; an odd trailing byte is padded with zero.
inline uint32_t checksum_add(uint32_t sum, const uint8_t* p, size_t len) {
  for (; len >= 2; p += 2, len -= 2) sum += load_be16(p);
  if (len) sum += uint32_t{p[0]} << 8;
  return sum;
}
inline uint32_t checksum_add32(uint32_t sum, uint32_t v) {
  return sum + (v >> 16) + (v & 0xffff);
}

inline uint16_t checksum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

// TCP/UDP pseudo-header (RFC 793 section 3.1).
inline uint32_t pseudo_header_sum(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len) {
  return checksum_add32(checksum_add32(0, src), dst) + proto + len;
}

}  // namespace dpscan
