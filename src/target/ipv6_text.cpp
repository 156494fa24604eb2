#include "target/ipv6_text.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"

namespace dpscan {

Ipv6Addr ipv6_or_throw(std::string_view text, std::string_view spec) {
  text = trim_space(text);
  if (auto ip = Ipv6Addr::parse(text)) return *ip;
  // The two forms other tools print that an address list does not take.
  const char* hint = "";
  if (text.find('%') != std::string_view::npos) {
    hint = " (a zone id such as %eth0 has no meaning in a target)";
  } else if (!text.empty() && text.front() == '[') {
    hint = " (write it without brackets)";
  }
  throw UsageError(fmt::format("invalid target '{}': '{}' is not an IPv6 address{}",
                               printable(spec, 64), printable(text, 64), hint));
}

std::optional<unsigned> parse_prefix_length(std::string_view text, unsigned max) {
  if (text.empty()) return std::nullopt;
  unsigned len = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    // Once above max it stays above (and cannot overflow), however many digits follow.
    if (len <= max) len = len * 10 + static_cast<unsigned>(c - '0');
  }
  if (len > max) return std::nullopt;
  return len;
}

unsigned prefix_length_or_throw(std::string_view text, std::string_view spec, unsigned max) {
  if (const auto len = parse_prefix_length(text, max)) return *len;
  throw UsageError(
      fmt::format("invalid target '{}': prefix length must be 0 to {}", printable(spec, 64), max));
}

}  // namespace dpscan
