// The pieces of IPv6 target specifications that Ip6Set, the prefix generator and the hitlist
// reader share, with their error messages.
#pragma once

#include <optional>
#include <string_view>

#include "dpscan/addr.hpp"

namespace dpscan {

// `text` (white space around it ignored) as an IPv6 address, or a UsageError naming `spec`
// ("invalid target 'SPEC': 'TEXT' is not an IPv6 address", with a hint for a zone id or
// brackets).
Ipv6Addr ipv6_or_throw(std::string_view text, std::string_view spec);

// A prefix length 0 to `max` in decimal digits (leading zeros allowed, as Python's
// ipaddress allows them), or nothing.
std::optional<unsigned> parse_prefix_length(std::string_view text, unsigned max = 128);
// The same, or a UsageError naming `spec`.
unsigned prefix_length_or_throw(std::string_view text, std::string_view spec, unsigned max = 128);

}  // namespace dpscan
