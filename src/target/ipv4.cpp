#include "dpscan/ipv4.hpp"

namespace dpscan {

std::optional<uint32_t> parse_ipv4(std::string_view text) {
  uint32_t ip = 0;
  size_t pos = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (pos >= text.size() || text[pos] != '.') return std::nullopt;
      ++pos;
    }
    const size_t begin = pos;
    unsigned value = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9' && pos - begin < 3) {
      value = value * 10 + static_cast<unsigned>(text[pos] - '0');
      ++pos;
    }
    const size_t digits = pos - begin;
    if (digits == 0 || value > 255 || (digits > 1 && text[begin] == '0')) return std::nullopt;
    ip = (ip << 8) | value;
  }
  if (pos != text.size()) return std::nullopt;
  return ip;
}

std::string format_ipv4(uint32_t ip) {
  char buf[16];
  return std::string(buf, format_ipv4(ip, buf));
}

}  // namespace dpscan
