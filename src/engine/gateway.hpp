// Finding the next hop's MAC address by ARP or neighbour discovery (neighbour.hpp), before
// the workers start (the main lcore owns both queues until then). masscan does the same for
// IPv4; ZMap reads the kernel's neighbour table, which a DPDK-bound NIC does not have (ZMap
// #19, #421, #627), and neither resolves an IPv6 router.
#pragma once

#include <cstdint>

#include "dpscan/addr.hpp"
#include "dpscan/sources.hpp"

namespace dpscan {

class Device;

// Throws RuntimeError if the gateway does not answer `tries` requests, one per second.
// Asks from the first source address (IPv6: from our link-local address when the gateway's
// is link-local) and answers requests for all of ours meanwhile. F: Ipv4 or Ipv6.
template <typename F>
MacAddr resolve_gateway(Device& dev, const SourceAddressesOf<typename F::Addr>& ours,
                        typename F::Addr gateway_ip, int tries = 5);

}  // namespace dpscan
