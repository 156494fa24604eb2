// The frames dpscan-reflect sends: SYN-ACKs with a stack's TCP options, RSTs, ICMP
// destination unreachable quoting the probe (RFC 792: its IPv4 header and 8 bytes of TCP),
// and ARP replies for the gateway address. Built complete, checksums included.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dpscan/addr.hpp"
#include "dpscan/probe.hpp"

namespace dpscan::reflect {

// The probe an answer is for, as much of it as an answer repeats.
struct ProbeEcho {
  Ipv4Addr scanner;    // the probe's source
  Ipv4Addr target;     // its destination
  uint16_t sport = 0;  // the scanner's port
  uint16_t tport = 0;  // the target port
  uint32_t seq = 0;
  uint16_t ip_id = 0;
  uint16_t ip_len = 0;  // the probe's IPv4 total length
  uint8_t ttl = 0;      // the probe's TTL when it arrived
};

// ICMP destination unreachable (type 3) from `router` to the scanner, quoting the probe's
// IPv4 header and the first 8 bytes of its TCP header. Returns the frame length (70).
size_t build_icmp_unreachable(uint8_t* frame, const MacAddr& src_mac, const MacAddr& dst_mac,
                              Ipv4Addr router, uint8_t code, uint8_t ttl, const ProbeEcho& probe);

}  // namespace dpscan::reflect
