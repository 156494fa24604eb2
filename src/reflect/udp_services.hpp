// The UDP services dpscan-reflect's hosts run (world.hpp's UdpService): each reads a request
// and writes the answer a real server sends, echoing what its protocol echoes, so a scanner's
// own check of the echoed field (dpscan: src/probe/udp_payload_checks.cpp) passes:
//   DNS (RFC 1035 4.1)   a response with the query's ID, opcode and RD bit and its question
//                        byte for byte (0x20 letter case included); a TXT question is
//                        answered with one TXT record ("dpscan-reflect"), others with none;
//   NTP (RFC 5905 7.3)   to a client (mode 3) request, a server (mode 4) reply of the same
//                        version, stratum 2, whose origin timestamp is the request's transmit
//                        timestamp and whose receive and transmit timestamps are `ntp_now`;
//   SNMP (RFC 3416)      to a v1 or v2c GetRequest or GetNextRequest, a GetResponse with the
//                        same version, community and request-id: sysDescr.0 has a value,
//                        other names noSuchObject (v2c) or error noSuchName (v1);
//   memcached            the UDP frame header with the request ID, sequence 0 of 1 datagram,
//                        and "VERSION 1.6.21\r\n" to "version", "ERROR\r\n" to anything else.
// A request a service does not understand (another protocol, malformed) gets no answer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "world.hpp"

namespace dpscan::reflect {

// The longest answer a service writes.
constexpr size_t kMaxUdpAnswer = 256;

std::string_view to_string(UdpService s);

// Writes the service's answer to the UDP payload `request` into out (kMaxUdpAnswer bytes);
// returns its length, 0 for no answer. ntp_now: the time in NTP's 64-bit format (seconds
// since 1900 in the high 32 bits).
size_t udp_answer(UdpService s, std::span<const uint8_t> request, uint64_t ntp_now, uint8_t* out);

// Unix time (seconds) in NTP's format.
uint64_t ntp_time(double unix_seconds);

}  // namespace dpscan::reflect
