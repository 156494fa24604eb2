#include "gateway.hpp"

#include <cstring>

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "device.hpp"
#include "dpscan/arp.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/error.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/log.hpp"

namespace dpscan {
namespace {

void send_frame(Device& dev, uint16_t op, const uint8_t* eth_dst, uint32_t our_ip,
                const uint8_t* target_mac, uint32_t target_ip) {
  rte_mbuf* m = rte_pktmbuf_alloc(dev.control_pool());
  if (!m) throw RuntimeError("out of packet buffers while resolving the gateway");
  const size_t n = build_arp_frame(rte_pktmbuf_mtod(m, uint8_t*), op, eth_dst, dev.mac(), our_ip,
                                   target_mac, target_ip);
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  if (rte_eth_tx_burst(dev.port(), 0, &m, 1) != 1) rte_pktmbuf_free(m);
}

}  // namespace

std::array<uint8_t, 6> resolve_gateway(Device& dev, const SourceAddresses& ours,
                                       uint32_t gateway_ip, int tries) {
  const uint32_t our_ip = ours.first();
  static const uint8_t kBroadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  static const uint8_t kZero[6] = {};
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
              std::array<uint8_t, 6> mac;
              std::memcpy(mac.data(), arp->sender_mac, 6);
              rte_pktmbuf_free_bulk(pkts, n);
              log::verbose("gateway {} is at {:02x}", format_ipv4(gateway_ip), fmt::join(mac, ":"));
              return mac;
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
                  format_ipv4(gateway_ip), tries, tries));
}

}  // namespace dpscan
