#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "dpscan/pacer.hpp"
#include "dpscan/probe_batch.hpp"
#include "workers.hpp"

namespace dpscan {

unsigned send_all(uint16_t port, uint16_t queue, rte_mbuf** pkts, unsigned n, Counter& retries,
                  const RunControl& control) {
  unsigned done = 0;
  while (done < n) {
    const uint16_t k = rte_eth_tx_burst(port, queue, pkts + done, static_cast<uint16_t>(n - done));
    done += k;
    if (done < n) {
      retries.add();  // back-pressure: the queue is full, try again (never drop)
      if (control.stop.load(std::memory_order_relaxed)) {
        rte_pktmbuf_free_bulk(pkts + done, n - done);
        break;
      }
      wait_a_little(control);
    }
  }
  return done;
}

namespace {

// Probes per burst, by measurement (docs/benchmarks.md): on net_null with the vector probe
// path, 64 sent 3-5% more per second than 32, and 128 no more than 64.
constexpr unsigned kBurst = 64;
static_assert(kBurst <= kMaxProbeBatch);

void drain_control(TxWorker& w) {
  if (!w.control_ring) return;
  rte_mbuf* pkts[kBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(w.control_ring, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  if (n)
    w.stats->add(TxCounter::kControlSent,
                 send_all(w.port, w.control_queue, pkts, n, w.stats->counter(TxCounter::kRetries),
                          *w.control));
}

}  // namespace

int tx_main(void* arg) {
  TxWorker& w = *static_cast<TxWorker*>(arg);
  TxStats& st = *w.stats;
  rte_mbuf* pkts[kBurst];
  const ProbeTemplate& tmpl = *w.tmpl;
  const uint64_t start = rte_rdtsc();
  Pacer pacer(w.rate_pps, rte_get_tsc_hz(), start);
  st.start_tsc.store(start, std::memory_order_relaxed);
  uint64_t sent = 0;  // this run, for pacing
  uint64_t total = w.sent_before;
  bool sending = w.budget->left() != 0;
  st.position.store(w.walk->position(), std::memory_order_relaxed);
  st.total_sent.store(total, std::memory_order_relaxed);
  if (!sending) {
    st.end_tsc.store(start, std::memory_order_relaxed);
    st.done.store(true, std::memory_order_release);
  }

  auto finish_sending = [&] {
    sending = false;
    st.end_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    st.done.store(true, std::memory_order_release);
  };

  while (!w.control->stop.load(std::memory_order_relaxed)) {
    drain_control(w);
    if (!sending) {
      wait_a_little(*w.control);
      continue;
    }
    if (w.control->stop_sending.load(std::memory_order_relaxed)) {
      finish_sending();
      continue;
    }
    // Pacing (pacer.hpp): how many probes may leave now; at low rates one at a time.
    bool stall = false;
    const unsigned n = pacer.paced() ? pacer.allowed(rte_rdtsc(), sent, kBurst, stall) : kBurst;
    if (stall) st.add(TxCounter::kPacingStalls);
    if (n == 0) {
      rte_pause();
      continue;
    }
    // Raw get: these mbufs are already complete probes but for the patched fields (see
    // fill_template in device.cpp), so rte_pktmbuf_alloc_bulk's reset would only cost time.
    if (rte_mempool_get_bulk(w.pool, reinterpret_cast<void**>(pkts), n) != 0) {
      st.add(TxCounter::kAllocWaits);  // all buffers in flight; the device will free some
      wait_a_little(*w.control);
      continue;
    }
    pacer.spent(n);
    const uint64_t position_before = w.walk->position();
    uint8_t* frames[kBurst];
    for (unsigned i = 0; i < n; ++i) frames[i] = rte_pktmbuf_mtod(pkts[i], uint8_t*);
    unsigned built = build_probe_batch(*w.walk, *w.order, tmpl, w.cookie, *w.sources, frames, n);
    bool exhausted = built < n;
    if (const uint64_t granted = w.budget->take(built); granted < built) {
      // --max-targets is spent: give back the probes built beyond it (the walk steps back and
      // replays the granted ones, so a resume or another run would continue exactly there).
      w.walk->seek(position_before);
      uint64_t replay[kBurst];
      w.walk->next_batch(replay, static_cast<unsigned>(granted));
      built = static_cast<unsigned>(granted);
      exhausted = true;
    }
    if (built < n) rte_pktmbuf_free_bulk(pkts + built, n - built);
    const unsigned k =
        send_all(w.port, w.queue, pkts, built, st.counter(TxCounter::kRetries), *w.control);
    st.add(TxCounter::kSent, k);
    sent += built;
    total += k;
    // Only probes the device took count as done; an abandoned burst is sent again on resume.
    st.position.store(k == built ? w.walk->position() : position_before, std::memory_order_relaxed);
    st.total_sent.store(total, std::memory_order_relaxed);
    if (exhausted) finish_sending();
  }
  if (sending) finish_sending();
  return 0;
}

}  // namespace dpscan
