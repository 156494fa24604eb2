#include "gateway.hpp"

#include <cstring>

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "device.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/ndp.hpp"
#include "dpscan/neighbour.hpp"

namespace dpscan {
namespace {

// Sends a frame that `build` writes into a control buffer.
template <typename Build>
void send_frame(Device& dev, Build&& build) {
  rte_mbuf* m = rte_pktmbuf_alloc(dev.control_pool());
  if (!m) throw RuntimeError("out of packet buffers while resolving the gateway");
  const size_t n = build(rte_pktmbuf_mtod(m, uint8_t*));
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  if (rte_eth_tx_burst(dev.port(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
}

// fe80::/10: the gateway is solicited from our own link-local address.
bool link_local(Ipv6Addr a) {
  return (a.hi() >> 54) == (0xfe80ULL >> 6);
}

}  // namespace

template <typename F>
MacAddr resolve_gateway(Device& dev, const SourceAddressesOf<typename F::Addr>& ours,
                        typename F::Addr gateway_ip, int tries) {
  using A = typename F::Addr;
  const MacAddr mac = dev.mac();
  const NeighbourContext<A> ctx{mac, &ours, link_local_of(mac)};
  A from = ours.first();
  if constexpr (F::kFamily == Family::kIpv6)
    if (link_local(gateway_ip)) from = ctx.link_local;
  const uint64_t hz = rte_get_tsc_hz();
  for (int attempt = 0; attempt < tries; ++attempt) {
    send_frame(dev, [&](uint8_t* f) { return neighbour_request(F{}, f, mac, from, gateway_ip); });
    const uint64_t deadline = rte_rdtsc() + hz;
    while (rte_rdtsc() < deadline) {
      rte_mbuf* pkts[32];
      // Poll every RX queue: a device may hash the reply onto any of them.
      uint16_t n = 0;
      for (uint16_t q = 0; q < dev.rx_queues() && n == 0; ++q)
        n = rte_eth_rx_burst(dev.port(), q, pkts, 32);
      for (uint16_t i = 0; i < n; ++i) {
        const uint8_t* f = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
        const size_t len = rte_pktmbuf_data_len(pkts[i]);
        if (const auto gw = neighbour_mac(F{}, f, len, gateway_ip)) {
          rte_pktmbuf_free_bulk(pkts, n);
          log::verbose("gateway {} is at {}", gateway_ip.to_string(), gw->to_string());
          return *gw;
        }
        L2View l2;
        const uint16_t asks = F::kFamily == Family::kIpv4 ? eth::kTypeArp : eth::kTypeIpv6;
        if (!parse_l2(f, len, l2) || l2.type != asks) continue;
        Drop drop{};
        uint8_t reply[128];
        if (const size_t r = answer_neighbour(F{}, f, len, l2.off, ctx, reply, drop))
          send_frame(dev, [&](uint8_t* out) {
            std::memcpy(out, reply, r);
            return r;
          });
      }
      if (n)
        rte_pktmbuf_free_bulk(pkts, n);
      else
        rte_delay_us_sleep(1000);
    }
  }
  throw RuntimeError(fmt::format(
      "gateway {} did not answer {} ({} requests over {} s); check --gateway-ip and the "
      "cabling, or give --gateway-mac",
      gateway_ip.to_string(), F::kFamily == Family::kIpv4 ? "ARP" : "neighbour solicitations",
      tries, tries));
}

template MacAddr resolve_gateway<Ipv4>(Device&, const SourceAddresses&, Ipv4Addr, int);
template MacAddr resolve_gateway<Ipv6>(Device&, const SourceAddresses6&, Ipv6Addr, int);

}  // namespace dpscan
