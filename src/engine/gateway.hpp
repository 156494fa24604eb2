// Finding the next hop's MAC address by ARP, before the workers start (the main lcore owns
// both queues until then). masscan does the same; ZMap reads the kernel's neighbour table,
// which a DPDK-bound NIC does not have (ZMap #19, #421, #627).
#pragma once

#include <cstdint>

#include "dpscan/addr.hpp"
#include "dpscan/sources.hpp"

namespace dpscan {

class Device;

// Throws RuntimeError if the gateway does not answer `tries` requests, one per second.
// Asks from the first source address and answers ARP for all of them meanwhile.
MacAddr resolve_gateway(Device& dev, const SourceAddresses& ours, Ipv4Addr gateway_ip,
                        int tries = 5);

}  // namespace dpscan
