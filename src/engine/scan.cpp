// The main lcore's side of a scan: set-up, launch, the 1 Hz status line, result output,
// the cooldown, and the summary.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "device.hpp"
#include "dpscan/error.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/log.hpp"
#include "dpscan/result.hpp"
#include "dpscan/rng.hpp"
#include "eal.hpp"
#include "engine.hpp"
#include "gateway.hpp"
#include "workers.hpp"

namespace dpscan {
namespace {

using Clock = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string rate_text(double pps) {
  if (pps >= 1e6) return fmt::format("{:.2f} Mpps", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:.1f} kpps", pps / 1e3);
  return fmt::format("{:.0f} pps", pps);
}

struct Snapshot {
  uint64_t sent, received, duplicates, drops;
  std::array<uint64_t, kStatusCount> by_status;
};

Snapshot snapshot(const TxStats& tx, const RxStats& rx) {
  Snapshot s{tx.sent.get(), rx.received.get(), rx.duplicates.get(), 0, {}};
  for (size_t i = 0; i < kStatusCount; ++i) s.by_status[i] = rx.by_status[i].get();
  for (const auto& d : rx.drops) s.drops += d.get();
  s.drops += rx.result_ring_full.get() + rx.control_ring_full.get();
  return s;
}

class ResultRing {
 public:
  ResultRing(const char* name, unsigned count, unsigned flags, unsigned elem) {
    ring_ = elem ? rte_ring_create_elem(name, elem, count, static_cast<int>(rte_socket_id()), flags)
                 : rte_ring_create(name, count, static_cast<int>(rte_socket_id()), flags);
    if (!ring_) throw RuntimeError(fmt::format("cannot create ring {}", name));
  }
  ~ResultRing() { rte_ring_free(ring_); }
  ResultRing(const ResultRing&) = delete;
  ResultRing& operator=(const ResultRing&) = delete;
  rte_ring* get() const { return ring_; }

 private:
  rte_ring* ring_;
};

}  // namespace

RunSummary run_scan(const ScanPlan& plan, uint64_t seed, ResultWriter& out,
                    const std::atomic<int>& interrupts) {
  RunSummary sum;
  sum.seed = seed;
  sum.start_time = unix_now();
  sum.rate_asked = plan.rate_pps;

  const TargetSpace space(plan.addresses, plan.ports);
  sum.addresses = space.addresses();
  sum.ports = space.ports().size();
  sum.probes = space.size();

  Eal eal(plan);
  Device dev(eal.layout().port_id, plan.device);
  std::array<uint8_t, 6> gateway_mac{};
  if (plan.gateway_mac) {
    gateway_mac = *plan.gateway_mac;
  } else {
    log::info("resolving gateway {} by ARP", format_ipv4(*plan.gateway_ip));
    gateway_mac = resolve_gateway(dev, plan.source_ip, *plan.gateway_ip);
  }

  ProbeConfig pc;
  std::memcpy(pc.src_mac, dev.mac(), 6);
  std::memcpy(pc.dst_mac, gateway_mac.data(), 6);
  pc.src_ip = plan.source_ip;
  pc.ttl = plan.ttl;
  pc.options = plan.probe_options;
  const ProbeTemplate tmpl(pc);
  dev.create_tx_pool(tmpl);

  CookieParams cookie;
  cookie.key = {random_seed(), random_seed()};
  cookie.sport_first = plan.sport_first;
  cookie.sport_count = plan.sport_count;

  const CyclicGroup group = make_group(space.size(), seed);
  CyclicWalk walk(group, space.size(), 0, group.prime - 1);
  Dedup dedup(space, plan.dedup_memory);
  sum.dedup_mode = std::string(dedup.mode());

  ResultRing results("dpscan_results", 1 << 16, RING_F_SP_ENQ | RING_F_SC_DEQ, sizeof(Result));
  ResultRing control("dpscan_control", 1024, RING_F_SC_DEQ, 0);

  RunControl ctl;
  TxStats tx_stats;
  RxStats rx_stats;
  TxWorker tx;
  tx.port = dev.port();
  tx.pool = dev.tx_pool();
  tx.tmpl = &tmpl;
  tx.cookie = cookie;
  tx.space = &space;
  tx.walk = &walk;
  tx.rate_pps = plan.rate_pps;
  tx.control_ring = control.get();
  tx.stats = &tx_stats;
  tx.control = &ctl;

  RxWorker rx;
  rx.port = dev.port();
  rx.ctx = {plan.source_ip, cookie};
  rx.space = &space;
  rx.dedup = &dedup;
  rx.results = results.get();
  rx.control_ring = control.get();
  rx.control_pool = dev.control_pool();
  std::memcpy(rx.mac, dev.mac(), 6);
  rx.send_rst = plan.send_rst;
  rx.ttl = plan.ttl;
  rx.tsc_base = rte_rdtsc();
  rx.unix_base_ns = static_cast<uint64_t>(unix_now() * 1e9);
  rx.stats = &rx_stats;
  rx.control = &ctl;

  log::info("scanning {} addresses x {} ports = {} probes at {}, seed {}", space.addresses(),
            space.ports().size(), space.size(),
            plan.rate_pps > 0 ? rate_text(plan.rate_pps) : "full speed", seed);
  if (rte_eal_remote_launch(rx_main, &rx, eal.layout().rx_lcore) != 0 ||
      rte_eal_remote_launch(tx_main, &tx, eal.layout().tx_lcore) != 0) {
    ctl.stop = true;
    rte_eal_mp_wait_lcore();
    throw RuntimeError("cannot launch the worker lcores");
  }

  // Main loop: drain results, print status once a second, decide when to stop.
  const auto begin = Clock::now();
  auto next_status = begin + std::chrono::seconds(1);
  Snapshot last{};
  auto last_time = begin;
  std::optional<Clock::time_point> cooldown_end;
  bool announced_stop = false;
  Result buf[256];
  auto drain = [&] {
    unsigned n;
    while ((n = rte_ring_sc_dequeue_burst_elem(results.get(), buf, sizeof(Result), 256, nullptr)) >
           0) {
      for (unsigned i = 0; i < n; ++i)
        if (plan.report[static_cast<size_t>(buf[i].status)]) out.result(buf[i]);
    }
  };
  for (;;) {
    drain();
    const int irq = interrupts.load();
    if (irq >= 1 && !ctl.stop_sending.load()) {
      ctl.stop_sending = true;
      sum.interrupted = true;
    }
    if (irq >= 2) break;
    const auto now = Clock::now();
    if (!cooldown_end && tx_stats.done.load(std::memory_order_acquire)) {
      cooldown_end = now + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(plan.cooldown_s));
      if (sum.interrupted && !announced_stop) {
        log::info(
            "interrupted: sending stopped; waiting {} s for answers (Ctrl-C again to quit now)",
            plan.cooldown_s);
        announced_stop = true;
      }
    }
    if (cooldown_end && now >= *cooldown_end) break;
    if (now >= next_status) {
      const Snapshot s = snapshot(tx_stats, rx_stats);
      const double dt = std::chrono::duration<double>(now - last_time).count();
      const double elapsed = std::chrono::duration<double>(now - begin).count();
      const double pct =
          space.size() ? 100.0 * static_cast<double>(s.sent) / static_cast<double>(space.size())
                       : 100;
      log::info(
          "{:.0f}s {:.1f}% sent {} ({}) received {} open {} closed {} unreachable {} dup {} drops "
          "{}{}",
          elapsed, pct, s.sent, rate_text(static_cast<double>(s.sent - last.sent) / dt), s.received,
          s.by_status[0], s.by_status[1], s.by_status[2], s.duplicates, s.drops,
          cooldown_end ? " (cooldown)" : "");
      last = s;
      last_time = now;
      next_status += std::chrono::seconds(1);
      if (next_status < now) next_status = now + std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ctl.stop_sending = true;
  ctl.stop = true;
  rte_eal_mp_wait_lcore();
  drain();

  const DeviceStats ds = dev.stats();
  // Anything still queued for the TX lcore was never sent; the queue is gone now.
  rte_mbuf* left[64];
  unsigned nleft;
  while ((nleft = rte_ring_dequeue_burst(control.get(), reinterpret_cast<void**>(left), 64,
                                         nullptr)) > 0)
    rte_pktmbuf_free_bulk(left, nleft);
  dev.stop();

  sum.sent = tx_stats.sent.get();
  sum.tx_retries = tx_stats.retries.get();
  const uint64_t t0 = tx_stats.start_tsc.load(), t1 = tx_stats.end_tsc.load();
  sum.send_duration_s =
      t1 > t0 ? static_cast<double>(t1 - t0) / static_cast<double>(rte_get_tsc_hz()) : 0;
  sum.received = rx_stats.received.get();
  for (size_t i = 0; i < kStatusCount; ++i) sum.by_status[i] = rx_stats.by_status[i].get();
  sum.duplicates = rx_stats.duplicates.get();
  for (size_t i = 0; i < kDropCount; ++i) sum.dropped[i] = rx_stats.drops[i].get();
  sum.result_ring_full = rx_stats.result_ring_full.get();
  sum.control_ring_full = rx_stats.control_ring_full.get();
  sum.rx_missed = ds.imissed;
  sum.rx_errors = ds.ierrors;
  sum.rx_nombuf = ds.rx_nombuf;
  sum.arp_replies = rx_stats.arp_replies.get();
  sum.rst_sent = rx_stats.rst_sent.get();
  sum.end_time = unix_now();
  return sum;
}

}  // namespace dpscan
