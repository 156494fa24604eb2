// An RX lcore's loop for probe module M: a burst from the next of its queues, each frame
// classified (classify_frame: the family's parser, then the module's step), ARP or NDP
// requests for our addresses answered, the module's replies queued (TCP SYN: the RST after a
// SYN-ACK), answers looked up in the index space, deduplicated, and handed to the main lcore
// through a ring as Results (with the payload bytes the scan keeps). Every frame that is not
// a new result is counted under a reason. step() is one burst, so that a single lcore can run
// TX, RX and the main lcore's work in turns.
#pragma once

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <algorithm>
#include <cstddef>
#include <cstring>

#include "dpscan/classify.hpp"
#include "dpscan/neighbour.hpp"
#include "dpscan/result.hpp"
#include "workers.hpp"

namespace dpscan {

constexpr unsigned kRxBurst = 32;

// The device's verdict on a frame's checksums (RTE_MBUF_F_RX_{IP,L4}_CKSUM_*), where the
// port has the RX checksum offloads enabled; otherwise nothing is known.
inline CsumHints checksum_hints(const rte_mbuf* m, bool offloaded) {
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

template <ProbeModule M>
class RxLoop {
 public:
  using F = typename M::Family;
  using Addr = typename F::Addr;

  explicit RxLoop(RxWorker<M>& w)
      : w_(w),
        st_(*w.stats),
        hz_(rte_get_tsc_hz()),
        queue_(w.first_queue),
        stride_(result_stride(w.keep_bytes)) {}

  // One burst from the next queue; false when it was empty.
  bool step() {
    if (!enter_burst(w_.gate, *w_.control, w_.port)) return false;
    rte_mbuf* pkts[kRxBurst];
    const uint16_t n = rte_eth_rx_burst(w_.port, queue_, pkts, kRxBurst);
    leave_burst(w_.gate);
    queue_ = static_cast<uint16_t>(queue_ + w_.queue_stride);
    if (queue_ >= w_.queues) queue_ = w_.first_queue;
    if (n == 0) return false;
    st_.add(RxCounter::kReceived, n);
    // Whole seconds only: (ticks * 1e9) would overflow 64 bits after ~8 s at 2.3 GHz.
    const auto now_s = static_cast<uint32_t>(
        w_.unix_base_s + (w_.unix_base_frac_ticks + rte_rdtsc() - w_.tsc_base) / hz_);
    // Two passes: classify every frame and prefetch the deduplication word of each answer,
    // then deduplicate. The bitmap is far larger than the caches (32 MiB for a /15 x 2000
    // ports), and its locked read-modify-write waits for the miss; prefetched, the burst's
    // misses overlap (docs/benchmarks.md: measured before and after).
    uint64_t pending[kRxBurst];  // index of result i in the scan's space, before dedup
    unsigned np = 0;
    // The mbufs were written on another core (the NIC, or the responder's lcore): start
    // loading every header of the burst, then each frame two ahead of its classification.
    for (uint16_t i = 0; i < n; ++i) rte_prefetch0(pkts[i]);
    for (uint16_t i = 0; i < n && i < 2; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (uint16_t i = 0; i < n; ++i) {
      if (i + 2 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 2], void*));
      const uint8_t* frame = rte_pktmbuf_mtod(pkts[i], const uint8_t*);
      const size_t len = rte_pktmbuf_data_len(pkts[i]);
      const Verdict<Addr> v =
          classify_frame<M>(frame, len, w_.ctx, checksum_hints(pkts[i], w_.csum_offload));
      switch (v.kind) {
        case Verdict<Addr>::Kind::kDrop:
          st_.add(v.drop);
          break;
        case Verdict<Addr>::Kind::kNeighbour:
          answer_neighbour_request(frame, len, v.l3);
          break;
        case Verdict<Addr>::Kind::kResult: {
          if (v.vlan_tags) st_.add(RxCounter::kVlanTagged);
          if (v.ip_options) st_.add(RxCounter::kIpOptions);
          if (v.csum_partial) st_.add(RxCounter::kCsumPartial);
          if (v.csum_device) st_.add(RxCounter::kCsumDevice);
          if (w_.send_replies && M::wants_reply(v)) reply(frame, v);
          const auto index =
              v.slot_known ? w_.space->index_at(v.ip, v.slot) : w_.space->index_of(v.ip, v.port);
          if (!index) {
            st_.add(Drop::kOutOfScope);
          } else {
            w_.dedup->prefetch(*index);
            pending[np] = *index;
            store_result(slot(np++), v, now_s);
          }
          break;
        }
      }
    }
    // The kept payload bytes were copied out of the frames: the buffers can go.
    rte_pktmbuf_free_bulk(pkts, n);
    unsigned nr = 0;
    for (unsigned i = 0; i < np; ++i) {
      if (!w_.dedup->first(pending[i])) {
        st_.add(RxCounter::kDuplicates);
        continue;
      }
      if (nr != i) std::memcpy(slot(nr), slot(i), stride_);
      ++nr;
    }
    if (nr) hand_over(nr);
    return true;
  }

 private:
  uint8_t* slot(unsigned i) { return results_ + size_t{i} * stride_; }

  // The Result and the payload bytes the scan keeps (--udp-response-bytes), in the ring's
  // element layout (result.hpp).
  void store_result(uint8_t* out, const Verdict<Addr>& v, uint32_t now_s) const {
    Result r;
    r.ip = v.ip;
    r.time_s = now_s;
    r.port = v.port;
    r.window = v.window;
    r.resp_len = v.resp_len;
    r.probe_len = v.probe_len;
    r.slot = v.slot;
    r.status = v.status;
    r.reason = v.reason;
    r.proto = M::kProtocol;
    r.ttl = v.ttl;
    r.validation_bits = v.validation_bits;
    r.icmp_code = v.icmp_code;
    const size_t keep = v.data ? std::min<size_t>(w_.keep_bytes, v.resp_len) : 0;
    r.data_len = static_cast<uint16_t>(keep);
    std::memcpy(out, &r, sizeof r);
    if (keep) std::memcpy(out + sizeof r, v.data, keep);
  }

  // Counted by status only once handed to the main lcore: the summary's open, closed and
  // unreachable are what the outputs got; the rest is result_ring_full.
  void hand_over(unsigned nr) {
    const auto esize = static_cast<unsigned>(stride_);
    unsigned k = rte_ring_sp_enqueue_burst_elem(w_.results, results_, esize, nr, nullptr);
    // With --bench-responder every lcore of the closed loop shares two CPUs with the main
    // lcore: give it the CPU until it has made room (back-pressure through the loop, as on
    // TX). In a scan the RX lcore must keep polling the device, so a full ring drops.
    while (k < nr && w_.control->yield_when_blocked &&
           !w_.control->stop.load(std::memory_order_relaxed)) {
      wait_a_little(*w_.control);
      k += rte_ring_sp_enqueue_burst_elem(w_.results, slot(k), esize, nr - k, nullptr);
    }
    for (unsigned i = 0; i < k; ++i) {
      Status status;
      std::memcpy(&status, slot(i) + offsetof(Result, status), sizeof status);
      st_.add(status);
    }
    if (k < nr) st_.add(RxCounter::kResultRingFull, nr - k);
  }

  // Hands a control frame (a neighbour answer, the module's reply) to the TX lcore that
  // owns the control queue.
  void queue_control(rte_mbuf* m) {
    if (rte_ring_mp_enqueue(w_.control_ring, m) != 0) {
      rte_pktmbuf_free(m);
      st_.add(RxCounter::kControlRingFull);
    }
  }

  rte_mbuf* control_buffer() {
    rte_mbuf* m = rte_pktmbuf_alloc(w_.control_pool);
    if (!m) st_.add(RxCounter::kControlRingFull);
    return m;
  }

  static void set_length(rte_mbuf* m, size_t n) {
    m->data_len = static_cast<uint16_t>(n);
    m->pkt_len = static_cast<uint32_t>(n);
  }

  // ARP or NDP (neighbour.hpp): a request for one of our addresses is answered.
  void answer_neighbour_request(const uint8_t* frame, size_t len, size_t l3) {
    uint8_t reply[128];
    Drop drop{};
    const size_t r = answer_neighbour(F{}, frame, len, l3, w_.neighbour, reply, drop);
    if (!r) {
      st_.add(drop);
      return;
    }
    rte_mbuf* m = control_buffer();
    if (!m) return;
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), reply, r);
    set_length(m, r);
    st_.add(RxCounter::kNeighbourReplies);
    queue_control(m);
  }

  void reply(const uint8_t* frame, const Verdict<Addr>& v) {
    rte_mbuf* m = control_buffer();
    if (!m) return;
    set_length(m, M::reply(v, frame, w_.reply, rte_pktmbuf_mtod(m, uint8_t*)));
    st_.add(RxCounter::kRepliesSent);
    queue_control(m);
  }

  RxWorker<M>& w_;
  RxStats& st_;
  const uint64_t hz_;
  uint16_t queue_;
  const size_t stride_;  // bytes per result in the ring
  alignas(64) uint8_t results_[kRxBurst * result_stride(kMaxKeepBytes)];
};

// The RX lcore: bursts until the main lcore says stop.
template <ProbeModule M>
int rx_main(void* arg) {
  RxWorker<M>& w = *static_cast<RxWorker<M>*>(arg);
  RxLoop<M> loop(w);
  while (!w.control->stop.load(std::memory_order_relaxed))
    if (!loop.step()) wait_a_little(*w.control);
  return 0;
}

}  // namespace dpscan
