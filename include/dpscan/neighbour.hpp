// Neighbour resolution, per family: ARP for IPv4 (RFC 826, arp.hpp), neighbour discovery
// for IPv6 (RFC 4861, ndp.hpp). Three steps, the same for both, so that the RX loop and the
// gateway's resolution are family-generic: answer a request for one of our addresses,
// recognise the reply that tells a neighbour's MAC, and ask for a neighbour's MAC.
// Overloaded on the family tag (Ipv4{}, Ipv6{}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "dpscan/addr.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/ipv6.hpp"
#include "dpscan/sources.hpp"
#include "dpscan/status.hpp"

namespace dpscan {

template <typename A>
struct NeighbourContext {
  MacAddr mac;  // ours
  const SourceAddressesOf<A>* sources = nullptr;
  Ipv6Addr link_local;  // IPv6: ours, from the MAC
};

// A request for one of our addresses (an ARP request; a neighbour solicitation for a
// source address or our link-local one) gets its reply written to out (at most 128 bytes);
// returns the reply's length, or 0 with `drop` saying why there is none. l3: the offset of
// the ARP payload or the IPv6 header in the frame.
size_t answer_neighbour(Ipv4, const uint8_t* frame, size_t len, size_t l3,
                        const NeighbourContext<Ipv4Addr>& ctx, uint8_t* out, Drop& drop);
size_t answer_neighbour(Ipv6, const uint8_t* frame, size_t len, size_t l3,
                        const NeighbourContext<Ipv6Addr>& ctx, uint8_t* out, Drop& drop);

// The MAC of `who` when the frame is its reply (an ARP reply from it, or an advertisement
// of it); nullopt for anything else.
std::optional<MacAddr> neighbour_mac(Ipv4, const uint8_t* frame, size_t len, Ipv4Addr who);
std::optional<MacAddr> neighbour_mac(Ipv6, const uint8_t* frame, size_t len, Ipv6Addr who);

// A request for `who`'s MAC from our address: an ARP request to the broadcast address, or a
// neighbour solicitation to its solicited-node group. Returns the length (at most 128).
size_t neighbour_request(Ipv4, uint8_t* out, const MacAddr& our_mac, Ipv4Addr our_ip, Ipv4Addr who);
size_t neighbour_request(Ipv6, uint8_t* out, const MacAddr& our_mac, Ipv6Addr our_ip, Ipv6Addr who);

}  // namespace dpscan
