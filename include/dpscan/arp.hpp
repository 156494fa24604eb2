// ARP for IPv4 over Ethernet (RFC 826). With the NIC unbound from the kernel, nobody else
// answers for our source address or finds the gateway's MAC (docs/design.md, decision 7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dpscan/addr.hpp"

namespace dpscan {

constexpr size_t kArpFrameLen = 42;
constexpr uint16_t kArpRequest = 1, kArpReply = 2;

struct ArpPacket {
  uint16_t op;
  MacAddr sender_mac;
  Ipv4Addr sender_ip;
  MacAddr target_mac;
  Ipv4Addr target_ip;
};

// Parses the ARP payload (after the Ethernet header). nullopt for anything but
// Ethernet/IPv4 ARP.
std::optional<ArpPacket> parse_arp(const uint8_t* payload, size_t len);

// Writes a complete Ethernet + ARP frame of kArpFrameLen bytes. For a request eth_dst is the
// broadcast address and target_mac is zero.
size_t build_arp_frame(uint8_t* frame, uint16_t op, const MacAddr& eth_dst, const MacAddr& our_mac,
                       Ipv4Addr our_ip, const MacAddr& target_mac, Ipv4Addr target_ip);

}  // namespace dpscan
