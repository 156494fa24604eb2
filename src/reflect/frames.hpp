// The frames dpscan-reflect sends: SYN-ACKs with a stack's TCP options, RSTs, ICMP
// destination unreachable quoting the probe (RFC 792: its IPv4 header and 8 bytes of TCP;
// RFC 4443: the whole IPv6 probe, as much as fits in 1280 bytes), and ARP replies or
// neighbour advertisements for the gateway address. Built complete, checksums included.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dpscan/addr.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/probe.hpp"

namespace dpscan::reflect {

// The probe an answer is for, as much of it as an answer repeats: a TCP SYN's fields, or a
// UDP datagram's or ICMP echo request's first kMaxL4 bytes (header included) as they arrived.
struct ProbeEcho {
  static constexpr size_t kMaxL4 = 60;
  Ipv4Addr scanner;    // the probe's source
  Ipv4Addr target;     // its destination
  uint16_t sport = 0;  // the scanner's port (echo: the identifier)
  uint16_t tport = 0;  // the target port (echo: 0)
  uint32_t seq = 0;
  uint16_t ip_id = 0;
  uint16_t ip_len = 0;             // the probe's IPv4 total length
  uint8_t ttl = 0;                 // the probe's TTL when it arrived
  uint8_t proto = ip4::kProtoTcp;  // its IP protocol
  uint16_t l4_full = 0;            // UDP, ICMP: the message's length
  uint8_t l4_len = 0;              // UDP, ICMP: bytes of l4[] held
  uint8_t l4[kMaxL4] = {};
};

// An IPv6 probe, as much of it as an answer repeats: an ICMPv6 error quotes the whole probe,
// so its TCP header (with options) is kept as it arrived, or a UDP datagram's or ICMPv6 echo
// request's first kMaxTcp bytes.
struct ProbeEcho6 {
  static constexpr size_t kMaxTcp = 60;  // a TCP header with the most options
  static constexpr size_t kMaxL4 = kMaxTcp;
  Ipv6Addr scanner;
  Ipv6Addr target;
  uint16_t sport = 0;
  uint16_t tport = 0;
  uint32_t seq = 0;
  uint32_t ver_class_flow = 0x60000000;  // the header's first word (flow label)
  uint16_t payload_len = 0;              // as it arrived (a quote of a longer probe is cut)
  uint8_t hop_limit = 0;                 // when it arrived
  uint8_t tcp_len = 0;                   // bytes of tcp[] held
  uint8_t proto = ip4::kProtoTcp;        // the next header: TCP, UDP or ICMPv6
  uint16_t l4_full = 0;                  // UDP, ICMPv6: the message's length
  uint8_t tcp[kMaxTcp] = {};             // TCP, UDP or ICMPv6: the message's first bytes

  const uint8_t* l4() const { return tcp; }
  size_t l4_held() const { return tcp_len; }
};

// ICMPv6 destination unreachable (type 1) from `router` to the scanner, quoting the probe
// (its IPv6 header and the TCP bytes held). Returns the frame length.
size_t build_icmp6_unreachable(uint8_t* frame, const MacAddr& src_mac, const MacAddr& dst_mac,
                               Ipv6Addr router, uint8_t code, uint8_t hop_limit,
                               const ProbeEcho6& probe);
// The largest frame it builds.
constexpr size_t kMaxIcmp6Frame = eth::kLen + 2 * ip6::kLen + 8 + ProbeEcho6::kMaxTcp;

// ICMP destination unreachable (type 3) from `router` (or the target: port unreachable) to
// the scanner, quoting the probe's IPv4 header and the first 8 bytes of its TCP, UDP or ICMP
// header. Returns the frame length (70).
size_t build_icmp_unreachable(uint8_t* frame, const MacAddr& src_mac, const MacAddr& dst_mac,
                              Ipv4Addr router, uint8_t code, uint8_t ttl, const ProbeEcho& probe);

}  // namespace dpscan::reflect
