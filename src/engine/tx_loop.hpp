// A TX lcore's loop for probe module M: control frames from the RX lcores, then, when the
// pacing allows, a burst of probes: take pre-filled buffers, build the burst (M::build_batch),
// hand it to the device, retrying what the queue did not take (never dropping). step() is
// one round, so that a single lcore can run TX, RX and the main lcore's work in turns.
#pragma once

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "engine/pacer.hpp"
#include "probe/probe_batch.hpp"
#include "workers.hpp"

namespace dpscan {

// Probes per burst, by measurement (docs/benchmarks.md): on net_null with the vector probe
// path, 64 sent 3-5% more per second than 32, and 128 no more than 64.
constexpr unsigned kTxBurst = 64;
static_assert(kTxBurst <= kMaxProbeBatch);

enum class TxStep : uint8_t { kSent, kIdle, kPaced, kNoBuffers };

template <ProbeModule M>
class TxLoop {
 public:
  explicit TxLoop(TxWorker<M>& w)
      : w_(w),
        st_(*w.stats),
        pacer_(w.rate_pps, rte_get_tsc_hz(), rte_rdtsc()),
        total_(w.sent_before),
        sending_(w.budget->left() != 0) {
    const uint64_t start = rte_rdtsc();
    st_.start_tsc.store(start, std::memory_order_relaxed);
    st_.position.store(w_.walk->position(), std::memory_order_relaxed);
    st_.total_sent.store(total_, std::memory_order_relaxed);
    if (!sending_) {
      st_.end_tsc.store(start, std::memory_order_relaxed);
      st_.done.store(true, std::memory_order_release);
    }
  }

  TxStep step() {
    drain_control();
    if (!sending_) return TxStep::kIdle;
    if (w_.control->stop_sending.load(std::memory_order_relaxed)) {
      finish_sending();
      return TxStep::kIdle;
    }
    // Pacing (pacer.hpp): how many probes may leave now; at low rates one at a time.
    bool stall = false;
    const unsigned n =
        pacer_.paced() ? pacer_.allowed(rte_rdtsc(), sent_, kTxBurst, stall) : kTxBurst;
    if (stall) st_.add(TxCounter::kPacingStalls);
    if (n == 0) return TxStep::kPaced;
    // Raw get: these mbufs are already complete probes but for the patched fields (see
    // fill_template in device.cpp), so rte_pktmbuf_alloc_bulk's reset would only cost time.
    rte_mbuf* pkts[kTxBurst];
    if (rte_mempool_get_bulk(w_.pool, reinterpret_cast<void**>(pkts), n) != 0) {
      st_.add(TxCounter::kAllocWaits);  // all buffers in flight; the device will free some
      return TxStep::kNoBuffers;
    }
    pacer_.spent(n);
    const uint64_t position_before = w_.walk->position();
    uint8_t* frames[kTxBurst];
    for (unsigned i = 0; i < n; ++i) frames[i] = rte_pktmbuf_mtod(pkts[i], uint8_t*);
    unsigned built =
        M::build_batch(*w_.walk, *w_.order, *w_.tmpl, w_.cookie, *w_.sources, frames, n);
    bool exhausted = built < n;
    if (const uint64_t granted = w_.budget->take(built); granted < built) {
      // --max-targets is spent: give back the probes built beyond it (the walk steps back and
      // replays the granted ones, so a resume or another run would continue exactly there).
      w_.walk->seek(position_before);
      uint64_t replay[kTxBurst];
      w_.walk->next_batch(replay, static_cast<unsigned>(granted));
      built = static_cast<unsigned>(granted);
      exhausted = true;
    }
    if (built < n) rte_pktmbuf_free_bulk(pkts + built, n - built);
    const unsigned k =
        send_all(w_.port, w_.queue, pkts, built, st_.counter(TxCounter::kRetries), *w_.control);
    st_.add(TxCounter::kSent, k);
    sent_ += built;
    total_ += k;
    // Only probes the device took count as done; an abandoned burst is sent again on resume.
    st_.position.store(k == built ? w_.walk->position() : position_before,
                       std::memory_order_relaxed);
    st_.total_sent.store(total_, std::memory_order_relaxed);
    if (exhausted) finish_sending();
    return TxStep::kSent;
  }

  // At the end of the loop: a lcore stopped while sending is done too.
  void finish() {
    if (sending_) finish_sending();
  }

 private:
  void finish_sending() {
    sending_ = false;
    st_.end_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    st_.done.store(true, std::memory_order_release);
  }

  void drain_control() {
    if (!w_.control_ring) return;
    rte_mbuf* pkts[kTxBurst];
    const unsigned n = rte_ring_sc_dequeue_burst(w_.control_ring, reinterpret_cast<void**>(pkts),
                                                 kTxBurst, nullptr);
    if (n)
      st_.add(TxCounter::kControlSent, send_all(w_.port, w_.control_queue, pkts, n,
                                                st_.counter(TxCounter::kRetries), *w_.control));
  }

  TxWorker<M>& w_;
  TxStats& st_;
  Pacer pacer_;
  uint64_t sent_ = 0;  // this run, for pacing
  uint64_t total_;     // including before a --resume
  bool sending_;
};

// The TX lcore: rounds until the main lcore says stop.
template <ProbeModule M>
int tx_main(void* arg) {
  TxWorker<M>& w = *static_cast<TxWorker<M>*>(arg);
  TxLoop<M> loop(w);
  while (!w.control->stop.load(std::memory_order_relaxed)) {
    switch (loop.step()) {
      case TxStep::kSent:
        break;
      case TxStep::kPaced:
        rte_pause();
        break;
      case TxStep::kIdle:
      case TxStep::kNoBuffers:
        wait_a_little(*w.control);
        break;
    }
  }
  loop.finish();
  return 0;
}

}  // namespace dpscan
