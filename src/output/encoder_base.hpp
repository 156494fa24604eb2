// Shared by the encoders: appending without fmt's format-string machinery, JSON escaping,
// and the xml factory.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "dpscan/ip_addr.hpp"
#include "dpscan/output.hpp"

namespace dpscan {

// The main lcore encodes a line per result: integers and names are appended directly.
inline void put(std::string& out, std::string_view v) {
  out.append(v);
}
inline void put_uint(std::string& out, uint64_t v) {
  const fmt::format_int digits(v);
  out.append(digits.data(), digits.size());
}
inline void put_ip(std::string& out, const IpAddr& ip) {
  char t[46];
  out.append(t, ip.format(t));
}
// Lowercase hex, two digits a byte.
inline void put_hex(std::string& out, std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (uint8_t b : bytes) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
}

std::string json_escape(const std::string& s);
std::unique_ptr<Encoder> make_xml_encoder(const OutputContext& ctx, bool dry_run);

}  // namespace dpscan
