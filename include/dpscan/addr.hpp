// Address types (Seastar's ipv4_address and ethernet_address): an IPv4 address and a MAC
// address are types of their own, not uint32_t and uint8_t[6], so that the compiler finds
// every place that assumes an address family. The value is kept in host order; byte order
// appears only where headers are read and written (bytes.hpp).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
