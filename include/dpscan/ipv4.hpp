// IPv4 address text <-> host-order integers. Strict dotted-quad parsing: exactly four decimal
// octets, no leading zeros (so "010.0.0.1" is not silently read as octal or decimal).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpscan {

std::optional<uint32_t> parse_ipv4(std::string_view text);

// Writes the dotted quad into out (at least 16 bytes) and returns the length written.
inline size_t format_ipv4(uint32_t ip, char* out) {
  size_t n = 0;
  for (int shift = 24; shift >= 0; shift -= 8) {
    unsigned octet = (ip >> shift) & 0xffu;
    if (octet >= 100) out[n++] = static_cast<char>('0' + octet / 100);
    if (octet >= 10) out[n++] = static_cast<char>('0' + (octet / 10) % 10);
    out[n++] = static_cast<char>('0' + octet % 10);
    if (shift) out[n++] = '.';
  }
  return n;
}

std::string format_ipv4(uint32_t ip);

}  // namespace dpscan
