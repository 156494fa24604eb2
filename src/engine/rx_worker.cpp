#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dpscan/arp.hpp"
#include "dpscan/result.hpp"
#include "workers.hpp"

namespace dpscan {
namespace {

constexpr unsigned kBurst = 32;

// Hands a control frame (ARP reply, RST) to the TX lcore, which owns the TX queue.
void queue_control(RxWorker& w, rte_mbuf* m) {
  if (rte_ring_mp_enqueue(w.control_ring, m) != 0) {
    rte_pktmbuf_free(m);
    w.stats->add(RxCounter::kControlRingFull);
  }
}

void answer_arp(RxWorker& w, const uint8_t* frame, size_t l3, size_t len) {
  const auto arp = parse_arp(frame + l3, len - l3);
  if (!arp || arp->op != kArpRequest || !w.ctx.sources.contains(arp->target_ip)) {
    w.stats->add(Drop::kArpOther);
    return;
  }
  rte_mbuf* m = rte_pktmbuf_alloc(w.control_pool);
  if (!m) {
    w.stats->add(RxCounter::kControlRingFull);
    return;
  }
  const size_t n = build_arp_frame(rte_pktmbuf_mtod(m, uint8_t*), kArpReply, arp->sender_mac, w.mac,
                                   arp->target_ip, arp->sender_mac, arp->sender_ip);
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  w.stats->add(RxCounter::kArpReplies);
  queue_control(w, m);
}

// RFC 793 section 3.4: a SYN-ACK for a connection we do not hold is answered with a reset
// whose sequence number is the segment's acknowledgement, so the target stops retransmitting.
void send_rst(RxWorker& w, const uint8_t* frame, const Verdict& v) {
  rte_mbuf* m = rte_pktmbuf_alloc(w.control_pool);
  if (!m) {
    w.stats->add(RxCounter::kControlRingFull);
    return;
  }
  const size_t n = build_tcp_frame(rte_pktmbuf_mtod(m, uint8_t*), w.mac, frame + eth::kSrc,
                                   v.our_ip, v.ip, v.our_port, v.port, v.ack, 0, tcp::kRst, 0,
                                   static_cast<uint16_t>(v.ack >> 16), w.ttl);
  m->data_len = static_cast<uint16_t>(n);
  m->pkt_len = static_cast<uint32_t>(n);
  w.stats->add(RxCounter::kRstSent);
  queue_control(w, m);
}

// The device's verdict on a frame's checksums (RTE_MBUF_F_RX_{IP,L4}_CKSUM_*), where the
// port has the RX checksum offloads enabled; otherwise nothing is known.
CsumHints checksum_hints(const rte_mbuf* m, bool offloaded) {
  CsumHints h;
  if (!offloaded) return h;
  auto flag = [](uint64_t bits, uint64_t good, uint64_t bad, uint64_t none) {
    return bits == none   ? CsumFlag::kNone
           : bits == good ? CsumFlag::kGood
           : bits == bad  ? CsumFlag::kBad
                          : CsumFlag::kUnknown;
  };
  h.ip = flag(m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD,
              RTE_MBUF_F_RX_IP_CKSUM_BAD, RTE_MBUF_F_RX_IP_CKSUM_NONE);
  h.l4 = flag(m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD,
              RTE_MBUF_F_RX_L4_CKSUM_BAD, RTE_MBUF_F_RX_L4_CKSUM_NONE);
  return h;
}

}  // namespace

int rx_main(void* arg) {
  RxWorker& w = *static_cast<RxWorker*>(arg);
  RxStats& st = *w.stats;
  rte_mbuf* pkts[kBurst];
  Result results[kBurst];
  uint64_t pending[kBurst];  // index of results[i] in the scan's space, before deduplication
  const uint64_t hz = rte_get_tsc_hz();
  uint16_t queue = w.first_queue;
  while (!w.control->stop.load(std::memory_order_relaxed)) {
    const uint16_t n = rte_eth_rx_burst(w.port, queue, pkts, kBurst);
    queue = static_cast<uint16_t>(queue + w.queue_stride);
    if (queue >= w.queues) queue = w.first_queue;
    if (n == 0) {
      wait_a_little(*w.control);
      continue;
    }
    st.add(RxCounter::kReceived, n);
    // Whole seconds only: (ticks * 1e9) would overflow 64 bits after ~8 s at 2.3 GHz.
    const auto now_s = static_cast<uint32_t>(
        w.unix_base_s + (w.unix_base_frac_ticks + rte_rdtsc() - w.tsc_base) / hz);
    // Two passes: classify every frame and prefetch the deduplication word of each answer,
    // then deduplicate. The bitmap is far larger than the caches (32 MiB for a /15 x 2000
    // ports), and its locked read-modify-write waits for the miss; prefetched, the burst's
    // misses overlap (docs/benchmarks.md: measured before and after).
    unsigned np = 0;
    // The mbufs were written on another core (the NIC, or the responder's lcore): start
    // loading every header of the burst, then each frame two ahead of its classification.
    for (uint16_t i = 0; i < n; ++i) rte_prefetch0(pkts[i]);
    for (uint16_t i = 0; i < n && i < 2; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (uint16_t i = 0; i < n; ++i) {
      if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void*));
      const uint8_t* frame = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
      const size_t len = rte_pktmbuf_data_len(pkts[i]);
      const Verdict v = classify(frame, len, w.ctx, checksum_hints(pkts[i], w.csum_offload));
      switch (v.kind) {
        case Verdict::Kind::kDrop:
          st.add(v.drop);
          break;
        case Verdict::Kind::kArp:
          answer_arp(w, frame, v.l3, len);
          break;
        case Verdict::Kind::kResult: {
          if (v.vlan_tags) st.add(RxCounter::kVlanTagged);
          if (v.ip_options) st.add(RxCounter::kIpOptions);
          if (v.csum_partial) st.add(RxCounter::kCsumPartial);
          if (v.csum_device) st.add(RxCounter::kCsumDevice);
          if (v.status == Status::kOpen && w.send_rst) send_rst(w, frame, v);
          const auto index = w.space->index_of(v.ip, v.port);
          if (!index) {
            st.add(Drop::kOutOfScope);
          } else {
            w.dedup->prefetch(*index);
            pending[np] = *index;
            results[np++] = Result{v.ip, v.port, v.status, v.ttl, v.window, v.icmp_code, 0, now_s};
          }
          break;
        }
      }
    }
    rte_pktmbuf_free_bulk(pkts, n);
    unsigned nr = 0;
    for (unsigned i = 0; i < np; ++i) {
      if (!w.dedup->first(pending[i])) {
        st.add(RxCounter::kDuplicates);
        continue;
      }
      results[nr++] = results[i];
    }
    if (nr) {
      // Counted by status only once handed to the main lcore: the summary's open, closed and
      // unreachable are what the outputs got; the rest is result_ring_full.
      unsigned k = rte_ring_sp_enqueue_burst_elem(w.results, results, sizeof(Result), nr, nullptr);
      // With --bench-responder every lcore of the closed loop shares two CPUs with the main
      // lcore: give it the CPU until it has made room (back-pressure through the loop, as on
      // TX). In a scan the RX lcore must keep polling the device, so a full ring drops.
      while (k < nr && w.control->yield_when_blocked &&
             !w.control->stop.load(std::memory_order_relaxed)) {
        wait_a_little(*w.control);
        k +=
            rte_ring_sp_enqueue_burst_elem(w.results, results + k, sizeof(Result), nr - k, nullptr);
      }
      for (unsigned i = 0; i < k; ++i) st.add(results[i].status);
      if (k < nr) st.add(RxCounter::kResultRingFull, nr - k);
    }
  }
  return 0;
}

}  // namespace dpscan
