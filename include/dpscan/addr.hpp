// Address types (Seastar's ipv4_address and ethernet_address): an IPv4 address, an IPv6
// address and a MAC address are types of their own, not uint32_t, uint8_t[16] and
// uint8_t[6], so that the compiler finds every place that assumes an address family. Values
// are kept in host order; byte order appears only where headers are read and written
// (bytes.hpp, Ipv6Addr::from_bytes/to_bytes).
#pragma once

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "dpscan/int128.hpp"

namespace dpscan {

class Ipv4Addr {
 public:
  constexpr Ipv4Addr() = default;
  constexpr explicit Ipv4Addr(uint32_t host_order) : v_(host_order) {}
  constexpr uint32_t value() const { return v_; }  // host order
  friend constexpr auto operator<=>(Ipv4Addr, Ipv4Addr) = default;

  // Strict dotted quad: exactly four decimal octets, no leading zeros (so "010.0.0.1" is not
  // silently read as octal or decimal).
  static std::optional<Ipv4Addr> parse(std::string_view text);
  // Writes the dotted quad into out (at least 16 bytes); returns the length written.
  size_t format(char* out) const {
    size_t n = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
      const unsigned octet = (v_ >> shift) & 0xffu;
      if (octet >= 100) out[n++] = static_cast<char>('0' + octet / 100);
      if (octet >= 10) out[n++] = static_cast<char>('0' + (octet / 10) % 10);
      out[n++] = static_cast<char>('0' + octet % 10);
      if (shift) out[n++] = '.';
    }
    return n;
  }
  std::string to_string() const {
    char buf[16];
    return std::string(buf, format(buf));
  }

 private:
  uint32_t v_ = 0;
};

// An IPv6 address as two 64-bit words in host order: hi() is the first 8 bytes of the
// address read big-endian, lo() the last 8. The defaulted comparison is lexicographic on
// (hi, lo), which is the numeric order of the 128-bit value, so sorted lists, intervals and
// prefixes work as they do for Ipv4Addr.
class Ipv6Addr {
 public:
  constexpr Ipv6Addr() = default;
  constexpr Ipv6Addr(uint64_t hi, uint64_t lo) : hi_(hi), lo_(lo) {}
  constexpr uint64_t hi() const { return hi_; }
  constexpr uint64_t lo() const { return lo_; }
  friend constexpr auto operator<=>(const Ipv6Addr&, const Ipv6Addr&) = default;

  static constexpr Ipv6Addr from_u128(u128 v) {
    return {static_cast<uint64_t>(v >> 64), static_cast<uint64_t>(v)};
  }
  constexpr u128 to_u128() const { return static_cast<u128>(hi_) << 64 | lo_; }
  static constexpr Ipv6Addr max() { return {~uint64_t{0}, ~uint64_t{0}}; }
  // The mask of a /len prefix: its first `len` bits set (len 0 to 128).
  static constexpr Ipv6Addr prefix_mask(unsigned len) {
    if (len == 0) return {};
    if (len <= 64) return {~uint64_t{0} << (64 - len), 0};
    return {~uint64_t{0}, len == 128 ? ~uint64_t{0} : ~uint64_t{0} << (128 - len)};
  }
  friend constexpr Ipv6Addr operator&(Ipv6Addr a, Ipv6Addr b) {
    return {a.hi_ & b.hi_, a.lo_ & b.lo_};
  }
  friend constexpr Ipv6Addr operator|(Ipv6Addr a, Ipv6Addr b) {
    return {a.hi_ | b.hi_, a.lo_ | b.lo_};
  }
  friend constexpr Ipv6Addr operator~(Ipv6Addr a) { return {~a.hi_, ~a.lo_}; }
  // Address + n, modulo 2^128 (callers check for the wrap where it matters).
  constexpr Ipv6Addr plus(uint64_t n) const {
    const uint64_t lo = lo_ + n;
    return {hi_ + (lo < lo_ ? 1 : 0), lo};
  }

  // From / to the 16 bytes of the address in network order (an IPv6 header's fields).
  static Ipv6Addr from_bytes(const uint8_t* p) { return {load_be(p), load_be(p + 8)}; }
  void to_bytes(uint8_t* p) const {
    store_be(p, hi_);
    store_be(p + 8, lo_);
  }

  // Strict RFC 4291 section 2.2 text, accepting and refusing exactly what Python's
  // ipaddress.IPv6Address does (the tests compare them), except that a zone id ("%eth0"),
  // which Python accepts, is refused: 1 to 4 hex digits per group, at most one "::" standing
  // for at least one group, an optional dotted IPv4 address in the last 32 bits (no leading
  // zeros in its octets). No brackets, no prefix length, no surrounding white space.
  static std::optional<Ipv6Addr> parse(std::string_view text);
  // Writes the RFC 5952 canonical text into out (at least kMaxText bytes: lower-case hex, no
  // leading zeros, the longest run of two or more zero groups, the first of equal runs, as
  // "::"); returns the length written. As Python 3.11's str(IPv6Address) does, IPv4-mapped
  // addresses are written in hex (::ffff:c000:201), not in the dotted form RFC 5952 section
  // 5 recommends (::ffff:192.0.2.1).
  static constexpr size_t kMaxText = 46;
  size_t format(char* out) const;
  std::string to_string() const;

 private:
  static uint64_t swap(uint64_t v) {
    return std::endian::native == std::endian::little ? __builtin_bswap64(v) : v;
  }
  static uint64_t load_be(const uint8_t* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return swap(v);
  }
  static void store_be(uint8_t* p, uint64_t v) {
    v = swap(v);
    std::memcpy(p, &v, 8);
  }

  uint64_t hi_ = 0;
  uint64_t lo_ = 0;
};

class MacAddr {
 public:
  constexpr MacAddr() = default;
  constexpr explicit MacAddr(const std::array<uint8_t, 6>& b) : b_(b) {}
  static MacAddr from(const uint8_t* bytes) {
    MacAddr m;
    for (size_t i = 0; i < 6; ++i) m.b_[i] = bytes[i];
    return m;
  }
  static constexpr MacAddr broadcast() { return MacAddr({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); }
  const uint8_t* data() const { return b_.data(); }
  const std::array<uint8_t, 6>& bytes() const { return b_; }
  friend constexpr bool operator==(const MacAddr&, const MacAddr&) = default;
  // aa:bb:cc:dd:ee:ff (case-insensitive hex, exactly 17 characters).
  static std::optional<MacAddr> parse(std::string_view text);
  std::string to_string() const;

 private:
  std::array<uint8_t, 6> b_{};
};

}  // namespace dpscan
