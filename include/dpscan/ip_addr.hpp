// An address of either family, for what outlives the per-packet path: results on their way
// to the outputs, the outputs themselves, records read back. The per-packet code works on a
// family's own type (Ipv4Addr, Ipv6Addr: family.hpp's traits), never on this one.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dpscan/addr.hpp"

namespace dpscan {

enum class Family : uint8_t { kIpv4, kIpv6 };
inline std::string_view family_name(Family f) {
  return f == Family::kIpv4 ? "ipv4" : "ipv6";
}

class IpAddr {
 public:
  constexpr IpAddr() = default;
  constexpr IpAddr(Ipv4Addr a) : family_(Family::kIpv4), lo_(a.value()) {}  // NOLINT: implicit
  constexpr IpAddr(Ipv6Addr a)                                              // NOLINT: implicit
      : family_(Family::kIpv6), hi_(a.hi()), lo_(a.lo()) {}

  constexpr Family family() const { return family_; }
  constexpr bool is_v4() const { return family_ == Family::kIpv4; }
  constexpr Ipv4Addr v4() const { return Ipv4Addr(static_cast<uint32_t>(lo_)); }
  constexpr Ipv6Addr v6() const { return {hi_, lo_}; }
  // Orders IPv4 before IPv6, then numerically.
  friend constexpr auto operator<=>(const IpAddr&, const IpAddr&) = default;

  // Writes the address's text (dotted quad, or RFC 5952) into out (at least 46 bytes).
  size_t format(char* out) const { return is_v4() ? v4().format(out) : v6().format(out); }
  std::string to_string() const {
    char buf[46];
    return std::string(buf, format(buf));
  }
  // Either family's text: IPv6 when it has a ':'.
  static std::optional<IpAddr> parse(std::string_view text) {
    if (text.find(':') != std::string_view::npos) {
      if (auto a = Ipv6Addr::parse(text)) return IpAddr(*a);
      return std::nullopt;
    }
    if (auto a = Ipv4Addr::parse(text)) return IpAddr(*a);
    return std::nullopt;
  }

 private:
  // family_ first: the defaulted comparison orders by family, then by value.
  Family family_ = Family::kIpv4;
  uint64_t hi_ = 0;
  uint64_t lo_ = 0;
};

}  // namespace dpscan
