// The per-lcore loops and the state they share with the main lcore. Everything a loop needs
// is in its context struct, set up before launch; the loops allocate nothing, take no lock
// and make no system call (docs/design.md, decisions 5, 6, 8).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>

#include <rte_ethdev.h>
#include <rte_pause.h>
#include <sched.h>

#include "dpscan/counters.hpp"
#include "dpscan/cyclic.hpp"
#include "dpscan/dedup.hpp"
#include "dpscan/neighbour.hpp"
#include "dpscan/probe_module.hpp"
#include "engine/budget.hpp"
#include "engine/counter.hpp"

struct rte_mempool;
struct rte_ring;
struct rte_mbuf;

namespace dpscan {

// Main -> workers.
struct RunControl {
  std::atomic<bool> stop_sending{false};  // Ctrl-C: finish the current burst, send no more probes
  std::atomic<bool> stop{false};          // end of cooldown: leave the loops
  // --bench-responder runs more busy lcores than this machine has CPUs: a blocked lcore
  // gives its CPU away (sched_yield) instead of spinning through its time slice. Never set
  // for real scans, whose loops make no system calls.
  bool yield_when_blocked = false;
  std::atomic<bool> port_paused{false};  // net_memif: the peer leaves, no burst (BurstGate)
};

// net_memif (engine/memif_quiesce.hpp): when the peer leaves, DPDK 22.11's PMD unmaps the
// shared memory from its interrupt thread, and an lcore inside a burst then reads unmapped
// memory. Each lcore that bursts on such a port has a gate: a burst starts only on a link
// seen up just before and while the port is not paused, and is marked busy meanwhile; the
// main lcore pauses the port and waits until no gate is busy before the peer may unmap.
// Without a gate (other drivers) every burst goes ahead.
struct alignas(64) BurstGate {
  std::atomic<bool> busy{false};
};

// true: the burst may go ahead, and leave_burst() must follow it.
inline bool enter_burst(BurstGate* g, const RunControl& c, uint16_t port) {
  if (!g) return true;
  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port, &link) != 0 || link.link_status != RTE_ETH_LINK_UP)
    return false;
  // seq_cst on both sides (and in pause_port): either this lcore sees the pause, or the
  // main lcore sees it busy and waits.
  g->busy.store(true, std::memory_order_seq_cst);
  if (!c.port_paused.load(std::memory_order_seq_cst)) return true;
  g->busy.store(false, std::memory_order_release);
  return false;
}
inline void leave_burst(BurstGate* g) {
  if (g) g->busy.store(false, std::memory_order_release);
}

// What a loop does when it cannot make progress (queue full, nothing received).
inline void wait_a_little(const RunControl& c) {
  if (c.yield_when_blocked)
    sched_yield();
  else
    rte_pause();
}

// A lcore's counters: one slot per entry of its home in the counter table (counters.hpp).
template <size_t N>
struct CounterBlock {
  std::array<Counter, N> slots;
  void add(size_t slot, uint64_t n = 1) { slots[slot].add(n); }
  uint64_t get(size_t slot) const { return slots[slot].get(); }
};

struct alignas(64) TxStats {
  CounterBlock<kTxSlots> counters;
  void add(TxCounter c, uint64_t n = 1) { counters.add(static_cast<size_t>(c), n); }
  Counter& counter(TxCounter c) { return counters.slots[static_cast<size_t>(c)]; }
  std::atomic<uint64_t> start_tsc{0};
  std::atomic<uint64_t> end_tsc{0};
  std::atomic<bool> done{false};  // no more probes will be sent
  // Resume state, published after each burst has been handed to the device: the walk
  // position and the probes sent in total (including before a --resume).
  std::atomic<uint64_t> position{0};
  std::atomic<uint64_t> total_sent{0};
};

struct alignas(64) RxStats {
  CounterBlock<kRxSlots> counters;
  template <typename Slot>  // RxCounter, Status or Drop
  void add(Slot s, uint64_t n = 1) {
    counters.add(rx_slot(s), n);
  }
};

// The run's totals: every lcore's block summed, and the device's statistics.
CounterValues collect_counters(const std::deque<TxStats>& tx, const std::deque<RxStats>& rx,
                               const std::array<uint64_t, kDeviceSlots>& device);

// A TX lcore's context (tx_loop.hpp), for probe module M.
template <typename M>
struct TxWorker {
  uint16_t port = 0;
  uint16_t queue = 0;
  rte_mempool* pool = nullptr;       // pre-filled with the module's template frame
  TxContext<M> tx;                   // the template, cookie, sources, order and space
  CyclicWalk* walk = nullptr;        // this lcore's subshard, already at its start position
  uint64_t sent_before = 0;          // probes sent before a --resume
  TargetBudget* budget = nullptr;    // --max-targets, shared by the TX lcores
  double rate_pps = 0;               // this lcore's share; 0: unpaced
  rte_ring* control_ring = nullptr;  // frames from the RX lcores (ARP replies, RSTs); may be null
  uint16_t control_queue = 0;        // the TX queue they leave on
  TxStats* stats = nullptr;
  RunControl* control = nullptr;
  BurstGate* gate = nullptr;  // net_memif only
};

// An RX lcore's context (rx_loop.hpp), for probe module M.
template <typename M>
struct RxWorker {
  using Addr = typename M::Family::Addr;
  uint16_t port = 0;
  uint16_t first_queue = 0;  // polls queues first_queue, first_queue + stride, ...
  uint16_t queue_stride = 1;
  uint16_t queues = 1;  // total RX queues of the port
  RxContext<M> ctx{};
  bool csum_offload = false;  // the port checks RX checksums: read the mbufs' flags
  const IndexSpace<typename M::Family::AddressList>* space = nullptr;
  Dedup* dedup = nullptr;
  rte_ring* results = nullptr;       // Result elements (and kept payload bytes) to the main lcore
  uint16_t keep_bytes = 0;           // payload bytes kept per result (--udp-response-bytes)
  rte_ring* control_ring = nullptr;  // frames for the TX lcore to send
  rte_mempool* control_pool = nullptr;
  ReplyContext reply;                // our MAC and TTL, for the module's replies
  NeighbourContext<Addr> neighbour;  // for ARP or NDP answers
  bool send_replies = true;   // the module's replies (TCP SYN: the RST; --no-rst turns it off)
  BurstGate* gate = nullptr;  // net_memif only
  uint64_t unix_base_s = 0;   // wall clock at tsc_base (whole seconds), for result timestamps
  uint64_t unix_base_frac_ticks = 0;  // and its fraction of a second, in TSC ticks
  uint64_t tsc_base = 0;
  RxStats* stats = nullptr;
  RunControl* control = nullptr;
};

}  // namespace dpscan
