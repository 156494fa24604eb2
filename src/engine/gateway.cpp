#include "gateway.hpp"

#include <cstring>

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "device.hpp"
#include "dpscan/addr.hpp"
#include "dpscan/arp.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"

namespace dpscan {
namespace {

void send_frame(Device& dev, uint16_t op, const MacAddr& eth_dst, Ipv4Addr our_ip,
                const MacAddr& target_mac, Ipv4Addr target_ip) {
  rte_mbuf* m = rte_pktmbuf_alloc(dev.control_pool());
  if (!m) throw RuntimeError("out of packet buffers while resolving the gateway");
  const size_t n = build_arp_frame(rte_pktmbuf_mtod(m, uint8_t*), op, eth_dst, dev.mac(), our_ip,
                                   target_mac, target_ip);
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  if (rte_eth_tx_burst(dev.port(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
}

}  // namespace

MacAddr resolve_gateway(Device& dev, const SourceAddresses& ours, Ipv4Addr gateway_ip, int tries) {
  const Ipv4Addr our_ip = ours.first();
  const MacAddr kBroadcast = MacAddr::broadcast();
  const MacAddr kZero;
  const uint64_t hz = rte_get_tsc_hz();
  for (int attempt = 0; attempt < tries; ++attempt) {
    send_frame(dev, kArpRequest, kBroadcast, our_ip, kZero, gateway_ip);
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
        if (len >= eth::kLen && load_be16(f + eth::kType) == eth::kTypeArp) {
          if (auto arp = parse_arp(f + eth::kLen, len - eth::kLen)) {
            if (arp->op == kArpReply && arp->sender_ip == gateway_ip) {
              rte_pktmbuf_free_bulk(pkts, n);
              log::verbose("gateway {} is at {}", gateway_ip.to_string(),
                           arp->sender_mac.to_string());
              return arp->sender_mac;
            }
            if (arp->op == kArpRequest && ours.contains(arp->target_ip)) {
              send_frame(dev, kArpReply, arp->sender_mac, arp->target_ip, arp->sender_mac,
                         arp->sender_ip);
            }
          }
        }
      }
      if (n)
        rte_pktmbuf_free_bulk(pkts, n);
      else
        rte_delay_us_sleep(1000);
    }
  }
  throw RuntimeError(
      fmt::format("gateway {} did not answer ARP ({} requests over {} s); check --gateway-ip and "
                  "the cabling, or give --gateway-mac",
                  gateway_ip.to_string(), tries, tries));
}

}  // namespace dpscan
