// Finding the next hop's MAC address by ARP, before the workers start (the main lcore owns
// both queues until then). masscan does the same; ZMap reads the kernel's neighbour table,
// which a DPDK-bound NIC does not have (ZMap #19, #421, #627).
#pragma once

#include <array>
#include <cstdint>

namespace dpscan {

class Device;

// Throws RuntimeError if the gateway does not answer `tries` requests, one per second.
std::array<uint8_t, 6> resolve_gateway(Device& dev, uint32_t our_ip, uint32_t gateway_ip,
                                       int tries = 5);

}  // namespace dpscan
