#include <algorithm>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

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
constexpr double kMaxLagSeconds = 0.1;   // pacing: lag caught up at most (then forgiven)
constexpr double kTokenSeconds = 50e-6;  // pacing: the catch-up bucket's depth, at 2x the rate

void drain_control(TxWorker& w) {
  if (!w.control_ring) return;
  rte_mbuf* pkts[kBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(w.control_ring, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  if (n)
    w.stats->control_sent.add(
        send_all(w.port, w.control_queue, pkts, n, w.stats->retries, *w.control));
}

}  // namespace

int tx_main(void* arg) {
  TxWorker& w = *static_cast<TxWorker*>(arg);
  TxStats& st = *w.stats;
  rte_mbuf* pkts[kBurst];
  const ProbeTemplate& tmpl = *w.tmpl;
  const double probes_per_tick = w.rate_pps / static_cast<double>(rte_get_tsc_hz());
  const auto max_lag = std::max<uint64_t>(1, static_cast<uint64_t>(w.rate_pps * kMaxLagSeconds));
  double forgiven = 0;  // probes of lag not caught up (see the pacing below)
  const double token_cap = std::max(1.0, 2 * w.rate_pps * kTokenSeconds);
  double tokens = token_cap;
  bool lagging = false;  // the lag is over kMaxLagSeconds (counted once per episode)
  const uint64_t start = rte_rdtsc();
  uint64_t token_tsc = start;
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
    // Pacing on the TSC: how many probes are due by now, checked once per burst. At low
    // rates this releases one probe at a time, so there are no bursts above the rate. After
    // a stall (the CPU taken away, a slow device call) the lag is caught up at no more than
    // twice the rate (a token bucket filled at 2x the rate, holding at least one probe), so
    // the rate over a second stays exact without a burst; a lag beyond kMaxLagSeconds is
    // forgiven instead and counted (tx_pacing_stalls).
    unsigned n = kBurst;
    if (probes_per_tick > 0) {
      const uint64_t now = rte_rdtsc();
      tokens =
          std::min(token_cap, tokens + static_cast<double>(now - token_tsc) * 2 * probes_per_tick);
      token_tsc = now;
      uint64_t due =
          static_cast<uint64_t>(static_cast<double>(now - start) * probes_per_tick - forgiven);
      const bool behind = due > sent && due - sent > max_lag;
      if (behind) {
        if (!lagging) st.pacing_stalls.add();  // once per episode, not per burst
        forgiven += static_cast<double>(due - sent - max_lag);
        due = sent + max_lag;
      }
      lagging = behind;
      const auto allowed = static_cast<uint64_t>(tokens);
      if (due <= sent || allowed == 0) {
        rte_pause();
        continue;
      }
      n = static_cast<unsigned>(std::min<uint64_t>({n, due - sent, allowed}));
    }
    // Raw get: these mbufs are already complete probes but for the patched fields (see
    // fill_template in device.cpp), so rte_pktmbuf_alloc_bulk's reset would only cost time.
    if (rte_mempool_get_bulk(w.pool, reinterpret_cast<void**>(pkts), n) != 0) {
      st.alloc_failed.add();  // all buffers in flight; the device will free some
      wait_a_little(*w.control);
      continue;
    }
    if (probes_per_tick > 0) tokens -= n;
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
    const unsigned k = send_all(w.port, w.queue, pkts, built, st.retries, *w.control);
    st.sent.add(k);
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
