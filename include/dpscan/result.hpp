// What an RX lcore hands to the main lcore through an rte_ring: 16 bytes per result.
#pragma once

#include <cstdint>
#include <string_view>

#include "dpscan/addr.hpp"
#include "dpscan/status.hpp"

namespace dpscan {

struct Result {
  Ipv4Addr ip;
  uint16_t port;
  Status status;
  uint8_t ttl;
  uint16_t window;
  uint8_t icmp_code;  // for unreachable: the ICMP code (the reason)
  uint8_t reserved;
  uint32_t time_s;  // Unix time when received
};
static_assert(sizeof(Result) == 16);

// nmap's reason names: syn-ack, reset, and the ICMP destination-unreachable codes.
std::string_view reason_name(const Result& r);

}  // namespace dpscan
