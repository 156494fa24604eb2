// The two lists every probe module reports into: what an answer says about a target
// (Status), and why a frame was not a new answer (Drop). Each is declared here once, with
// its names; the counters (counters.hpp), the summary, the status line, --report and the
// writers are generated from these lists. A module whose answers mean something new (say
// "open|filtered" for UDP) adds a status here and reports it: nothing else has to change.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dpscan {

enum class Status : uint8_t { kOpen, kClosed, kUnreachable };
inline constexpr std::array<std::string_view, 3> kStatusNames{"open", "closed", "unreachable"};
inline constexpr size_t kStatusCount = kStatusNames.size();

inline std::string_view status_name(Status s) {
  return kStatusNames[static_cast<size_t>(s)];
}
inline std::optional<Status> parse_status(std::string_view name) {
  for (size_t i = 0; i < kStatusCount; ++i)
    if (kStatusNames[i] == name) return static_cast<Status>(i);
  return std::nullopt;
}

enum class Drop : uint8_t {
  kTruncated,    // shorter than its headers say
  kNotIp,        // another EtherType (IPv6, LLDP, ...)
  kBadIpHeader,  // IP version, header length or total length impossible
  kIpChecksum,
  kFragment,  // a fragment is never a whole answer to a SYN
  kNotForUs,  // destination address is not ours
  kProtocol,  // neither TCP nor ICMP
  kTcpChecksum,
  kTcpFlags,   // TCP, but neither SYN-ACK nor RST
  kBadCookie,  // destination port or acknowledgement does not match the cookie
  kIcmpOther,  // ICMP but not a counted destination-unreachable
  kIcmpChecksum,
  kArpOther,    // ARP that is not a request for our address
  kOutOfScope,  // cookie matches but the (address, port) was not in the scan
};
inline constexpr std::array<std::string_view, 14> kDropNames{
    "truncated",  "not_ipv4",      "bad_ip_header", "ip_checksum", "fragment",
    "not_for_us", "protocol",      "tcp_checksum",  "tcp_flags",   "bad_cookie",
    "icmp_other", "icmp_checksum", "arp_other",     "out_of_scope"};
inline constexpr size_t kDropCount = kDropNames.size();
static_assert(static_cast<size_t>(Drop::kOutOfScope) + 1 == kDropCount);

inline std::string_view drop_name(Drop d) {
  return kDropNames[static_cast<size_t>(d)];
}

}  // namespace dpscan
