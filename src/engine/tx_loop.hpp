// A TX lcore's loop for probe module M: control frames from the RX lcores, then, when the
// pacing allows, a burst of probes: take pre-filled buffers, build the burst (M::build_batch,
// with each probe's length where the module's probes differ in length),
// hand it to the device; what the queue did not take is offered again in the next round
// (never dropped). step() is one round and never waits, so that a single lcore can run TX,
// RX and the main lcore's work in turns (--lcores 1).
#pragma once

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

#include "engine/pacer.hpp"
#include "probe/probe_batch.hpp"  // kMaxProbeBatch
#include "workers.hpp"

namespace dpscan {

// Probes per burst, by measurement (docs/benchmarks.md): on net_null with the vector probe
// path, 64 sent 3-5% more per second than 32, and 128 no more than 64.
constexpr unsigned kTxBurst = 64;
static_assert(kTxBurst <= kMaxProbeBatch);

enum class TxStep : uint8_t { kSent, kIdle, kPaced, kNoBuffers, kBlocked };

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

  // One round: control frames, then the rest of a burst the device did not take, or a new
  // burst when the pacing allows. Never waits: a full queue leaves the rest for the next
  // round (kBlocked), so that one lcore can also poll RX between rounds.
  TxStep step() {
    drain_control();
    if (pending_n_ && !flush_pending()) return TxStep::kBlocked;
    if (!sending_) return TxStep::kIdle;
    if (w_.control->stop_sending.load(std::memory_order_relaxed) || exhausted_) {
      finish_sending();
      return TxStep::kIdle;
    }
    // Pacing (pacer.hpp): how many probes may leave now; at low rates one at a time.
    bool stall = false;
    const unsigned n =
        pacer_.paced() ? pacer_.allowed(rte_rdtsc(), sent_, kTxBurst, stall) : kTxBurst;
    if (stall) st_.add(TxCounter::kPacingStalls);
    if (const uint64_t f = pacer_.forgiven(); f != forgiven_) {
      st_.add(TxCounter::kPacingForgiven, f - forgiven_);
      forgiven_ = f;
    }
    if (n == 0) return TxStep::kPaced;
    // Raw get: these mbufs are already complete probes but for the patched fields (see
    // fill_template in device.cpp), so rte_pktmbuf_alloc_bulk's reset would only cost time.
    if (rte_mempool_get_bulk(w_.pool, reinterpret_cast<void**>(pending_), n) != 0) {
      st_.add(TxCounter::kAllocWaits);  // all buffers in flight; the device will free some
      return TxStep::kNoBuffers;
    }
    pacer_.spent(n);
    position_before_ = w_.walk->position();
    uint8_t* frames[kTxBurst];
    uint16_t lens[kTxBurst];
    for (unsigned i = 0; i < n; ++i) frames[i] = rte_pktmbuf_mtod(pending_[i], uint8_t*);
    unsigned built = M::build_batch(*w_.walk, w_.tx, frames, lens, n);
    if constexpr (!M::kFixedLength) {
      // Probes of several lengths (UDP payloads): each buffer says its frame's.
      for (unsigned i = 0; i < built; ++i) {
        pending_[i]->data_len = lens[i];
        pending_[i]->pkt_len = lens[i];
      }
    }
    exhausted_ = built < n;
    if (const uint64_t granted = w_.budget->take(built); granted < built) {
      // --max-targets is spent: give back the probes built beyond it (the walk steps back and
      // replays the granted ones, so a resume or another run would continue exactly there).
      w_.walk->seek(position_before_);
      uint64_t replay[kTxBurst];
      w_.walk->next_batch(replay, static_cast<unsigned>(granted));
      built = static_cast<unsigned>(granted);
      exhausted_ = true;
    }
    if (built < n) rte_pktmbuf_free_bulk(pending_ + built, n - built);
    sent_ += built;
    pending_first_ = 0;
    pending_n_ = built;
    // Until the whole burst is on the device, the resume state stays before it: a burst cut
    // short by the end is sent again on resume.
    flush_pending();
    return TxStep::kSent;
  }

  // At the end of the loop: what the device never took is freed; a lcore stopped while
  // sending is done too.
  void finish() {
    if (pending_n_) rte_pktmbuf_free_bulk(pending_ + pending_first_, pending_n_);
    pending_n_ = 0;
    if (control_n_) rte_pktmbuf_free_bulk(control_ + control_first_, control_n_);
    control_n_ = 0;
    if (sending_) finish_sending();
  }

 private:
  // Hands the device what it takes of the current burst; true when the burst is all sent.
  bool flush_pending() {
    if (!enter_burst(w_.gate, *w_.control, w_.port)) return false;  // memif: peer leaving
    const uint16_t k = rte_eth_tx_burst(w_.port, w_.queue, pending_ + pending_first_,
                                        static_cast<uint16_t>(pending_n_));
    leave_burst(w_.gate);
    st_.add(TxCounter::kSent, k);
    total_ += k;
    pending_first_ += k;
    pending_n_ -= k;
    if (pending_n_) {
      st_.add(TxCounter::kRetries);  // back-pressure: the queue is full, try again (never drop)
      return false;
    }
    st_.position.store(w_.walk->position(), std::memory_order_relaxed);
    st_.total_sent.store(total_, std::memory_order_relaxed);
    return true;
  }

  void finish_sending() {
    sending_ = false;
    st_.end_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    st_.done.store(true, std::memory_order_release);
  }

  // Control frames (ARP replies, the module's replies) from the RX lcores, sent on the
  // control queue; what the queue does not take waits for the next round.
  void drain_control() {
    if (!w_.control_ring) return;
    if (control_n_ == 0) {
      control_first_ = 0;
      control_n_ = rte_ring_sc_dequeue_burst(w_.control_ring, reinterpret_cast<void**>(control_),
                                             kTxBurst, nullptr);
      if (control_n_ == 0) return;
    }
    if (!enter_burst(w_.gate, *w_.control, w_.port)) return;
    const uint16_t k = rte_eth_tx_burst(w_.port, w_.control_queue, control_ + control_first_,
                                        static_cast<uint16_t>(control_n_));
    leave_burst(w_.gate);
    st_.add(TxCounter::kControlSent, k);
    control_first_ += k;
    control_n_ -= k;
    if (control_n_) st_.add(TxCounter::kRetries);
  }

  TxWorker<M>& w_;
  TxStats& st_;
  Pacer pacer_;
  uint64_t forgiven_ = 0;  // pacer_.forgiven() already counted
  uint64_t sent_ = 0;      // this run, for pacing
  uint64_t total_;         // including before a --resume
  bool sending_;
  bool exhausted_ = false;  // the walk or the budget ended with the current burst
  uint64_t position_before_ = 0;
  rte_mbuf* pending_[kTxBurst];  // the current burst, from pending_first_ on
  unsigned pending_first_ = 0;
  unsigned pending_n_ = 0;
  rte_mbuf* control_[kTxBurst];
  unsigned control_first_ = 0;
  unsigned control_n_ = 0;
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
      case TxStep::kBlocked:
        wait_a_little(*w.control);
        break;
    }
  }
  loop.finish();
  return 0;
}

}  // namespace dpscan
