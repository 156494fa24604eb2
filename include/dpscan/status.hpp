// The lists every probe module reports into: what an answer says about a target (Status),
// why it says so (Reason, nmap's reason names), and why a frame was not a new answer (Drop).
// Each is declared here once, with its names; the counters (counters.hpp), the summary, the
// status line, --report and the writers are generated from these lists. A module says which
// entries it can produce (its kStatuses, kDrops: probe_module.hpp), and a scan shows those.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dpscan {

// open: the service answered (SYN-ACK, a validated UDP reply); closed: the host said no (RST,
// a validated ICMP port unreachable); unreachable: an ICMP error on the way; up: the host
// answered an echo request.
enum class Status : uint8_t { kOpen, kClosed, kUnreachable, kUp };
inline constexpr std::array<std::string_view, 4> kStatusNames{"open", "closed", "unreachable",
                                                              "up"};
inline constexpr size_t kStatusCount = kStatusNames.size();

inline std::string_view status_name(Status s) {
  return kStatusNames[static_cast<size_t>(s)];
}
inline std::optional<Status> parse_status(std::string_view name) {
  for (size_t i = 0; i < kStatusCount; ++i)
    if (kStatusNames[i] == name) return static_cast<Status>(i);
  return std::nullopt;
}

// Why a result has its status, in nmap's words where nmap has one (reason.cc): the answer's
// kind, or the ICMP error's type and code (RFC 792 for IPv4, RFC 4443 section 3 for IPv6).
enum class Reason : uint8_t {
  kSynAck,
  kReset,
  kUdpResponse,
  kEchoReply,
  kNetUnreach,       // ICMP 3/0
  kHostUnreach,      // ICMP 3/1
  kProtoUnreach,     // ICMP 3/2
  kPortUnreach,      // ICMP 3/3, ICMPv6 1/4
  kNetProhibited,    // ICMP 3/9
  kHostProhibited,   // ICMP 3/10
  kAdminProhibited,  // ICMP 3/13, ICMPv6 1/1
  kUnreach,          // another ICMP destination unreachable code
  kNoRoute,          // ICMPv6 1/0
  kBeyondScope,      // ICMPv6 1/2
  kAddrUnreach,      // ICMPv6 1/3
  kFailedPolicy,     // ICMPv6 1/5
  kRejectRoute,      // ICMPv6 1/6
  kPacketTooBig,     // ICMPv6 2
  kTimeExceeded,     // ICMP 11, ICMPv6 3
};
inline constexpr std::array<std::string_view, 19> kReasonNames{
    "syn-ack",          "reset",         "udp-response",   "echo-reply",     "net-unreach",
    "host-unreach",     "proto-unreach", "port-unreach",   "net-prohibited", "host-prohibited",
    "admin-prohibited", "unreach",       "no-route",       "beyond-scope",   "addr-unreach",
    "failed-policy",    "reject-route",  "packet-too-big", "time-exceeded"};
static_assert(static_cast<size_t>(Reason::kTimeExceeded) + 1 == kReasonNames.size());

inline std::string_view reason_name(Reason r) {
  return kReasonNames[static_cast<size_t>(r)];
}

enum class Drop : uint8_t {
  kTruncated,     // shorter than its headers say
  kNotIp,         // another EtherType (LLDP, ...)
  kOtherFamily,   // IPv6 in an IPv4 scan or IPv4/ARP in an IPv6 one
  kBadIpHeader,   // IP version, header length or total length impossible
  kBadExtHeader,  // an IPv6 extension header chain that cannot be walked
  kIpChecksum,
  kFragment,  // a fragment is never a whole answer to a probe
  kNotForUs,  // destination address is not ours
  kProtocol,  // not the module's transport, not ICMP
  kTcpChecksum,
  kTcpFlags,  // TCP, but neither SYN-ACK nor RST
  kUdpChecksum,
  kUdpSport,   // a validated UDP answer from another port than the one probed
  kBadEcho,    // a UDP answer whose echoed field does not carry the cookie
  kBadCookie,  // destination port or acknowledgement does not match the cookie
  kIcmpOther,  // ICMP but not an error about a probe (nor an answer the module takes)
  kIcmpChecksum,
  kArpOther,    // ARP that is not a request for our address
  kNdpOther,    // neighbour discovery that is not a solicitation for our address
  kOutOfScope,  // cookie matches but the (address, port) was not in the scan
};
inline constexpr std::array<std::string_view, 20> kDropNames{
    "truncated",   "not_ip",        "other_family", "bad_ip_header", "bad_ext_header",
    "ip_checksum", "fragment",      "not_for_us",   "protocol",      "tcp_checksum",
    "tcp_flags",   "udp_checksum",  "udp_sport",    "bad_echo",      "bad_cookie",
    "icmp_other",  "icmp_checksum", "arp_other",    "ndp_other",     "out_of_scope"};
inline constexpr size_t kDropCount = kDropNames.size();
static_assert(static_cast<size_t>(Drop::kOutOfScope) + 1 == kDropCount);

inline std::string_view drop_name(Drop d) {
  return kDropNames[static_cast<size_t>(d)];
}

}  // namespace dpscan
