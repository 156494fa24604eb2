// The main lcore's side of a scan: set-up, launch, the 1 Hz status line, result output,
// checkpoints, the cooldown, and the summary.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "bench_responder.hpp"
#include "dataplane.hpp"
#include "device.hpp"
#include "dpscan/error.hpp"
#include "dpscan/ipv4.hpp"
#include "dpscan/log.hpp"
#include "dpscan/result.hpp"
#include "eal.hpp"
#include "engine.hpp"
#include "gateway.hpp"
#include "run_state.hpp"
#include "status.hpp"
#include "telemetry.hpp"
#include "workers.hpp"

namespace dpscan {
namespace {

using Clock = std::chrono::steady_clock;

// The main lcore wakes every 5 ms to drain results: 200 system calls a second whatever the
// packet rate, and a result ring deep enough for 5 ms at any RX rate this machine reaches
// (2^18 results = 52 Mpps for 5 ms).
constexpr auto kMainTick = std::chrono::milliseconds(5);
constexpr unsigned kResultRingSize = 1u << 18;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

class Ring {
 public:
  Ring(const std::string& name, unsigned count, unsigned flags, unsigned elem) {
    ring_ = elem ? rte_ring_create_elem(name.c_str(), elem, count,
                                        static_cast<int>(rte_socket_id()), flags)
                 : rte_ring_create(name.c_str(), count, static_cast<int>(rte_socket_id()), flags);
    if (!ring_) throw RuntimeError(fmt::format("cannot create ring {}", name));
  }
  ~Ring() { rte_ring_free(ring_); }
  Ring(const Ring&) = delete;
  Ring& operator=(const Ring&) = delete;
  rte_ring* get() const { return ring_; }

 private:
  rte_ring* ring_;
};

// Totals over the worker lcores, for the status line and the summary.
struct Totals {
  uint64_t sent = 0, retries = 0, received = 0, duplicates = 0, drops = 0, result_ring_full = 0,
           control_ring_full = 0, arp_replies = 0, rst_sent = 0, vlan_tagged = 0, ip_options = 0,
           alloc_waits = 0, control_sent = 0, pacing_stalls = 0, csum_partial = 0, csum_device = 0;
  std::array<uint64_t, kStatusCount> by_status{};
  std::array<uint64_t, kDropCount> drop{};
};

Totals totals(const std::deque<TxStats>& tx, const std::deque<RxStats>& rx) {
  Totals t;
  for (const auto& s : tx) {
    t.sent += s.sent.get();
    t.retries += s.retries.get();
    t.alloc_waits += s.alloc_failed.get();
    t.pacing_stalls += s.pacing_stalls.get();
    t.control_sent += s.control_sent.get();
  }
  for (const auto& s : rx) {
    t.received += s.received.get();
    t.duplicates += s.duplicates.get();
    t.result_ring_full += s.result_ring_full.get();
    t.control_ring_full += s.control_ring_full.get();
    t.arp_replies += s.arp_replies.get();
    t.rst_sent += s.rst_sent.get();
    t.vlan_tagged += s.vlan_tagged.get();
    t.ip_options += s.ip_options.get();
    t.csum_partial += s.csum_partial.get();
    t.csum_device += s.csum_device.get();
    for (size_t i = 0; i < kStatusCount; ++i) t.by_status[i] += s.by_status[i].get();
    for (size_t i = 0; i < kDropCount; ++i) t.drop[i] += s.drops[i].get();
  }
  t.drops = t.result_ring_full + t.control_ring_full;
  for (uint64_t d : t.drop) t.drops += d;
  return t;
}

}  // namespace

RunSummary run_scan(const ScanPlan& plan, Dataplane& dataplane, Outputs& out,
                    const std::atomic<int>& interrupts) {
  RunSummary sum;
  sum.start_time = unix_now();
  sum.rate_asked = plan.rate_pps;

  const TargetSpace space(plan.addresses, plan.ports);
  const RunState state = prepare_run(plan, space);
  const ScanOrder order(space, plan.retries, state.seed, {plan.shard_index, plan.shard_count},
                        plan.tx_lcores);
  sum.seed = state.seed;
  sum.cookie = std::string(to_string(state.cookie));
  sum.addresses = space.addresses();
  sum.ports = space.ports().size();
  sum.probes = order.probes();

  dataplane.open(plan);
  const EalLayout& layout = dataplane.layout();
  BenchResponder* bench = dataplane.responder();
  Device& dev = dataplane.device();
  const DeviceStats stats_before = dev.stats();  // device counters add up over a campaign
  std::array<uint8_t, 6> gateway_mac{};
  if (plan.gateway_mac) {
    gateway_mac = *plan.gateway_mac;
  } else {
    log::info("resolving gateway {} by ARP", format_ipv4(*plan.gateway_ip));
    gateway_mac = resolve_gateway(dev, plan.sources, *plan.gateway_ip);
  }

  ProbeConfig pc;
  std::memcpy(pc.src_mac, dev.mac(), 6);
  std::memcpy(pc.dst_mac, gateway_mac.data(), 6);
  pc.ttl = plan.ttl;
  pc.window = plan.window;
  pc.options = plan.probe_options;
  const ProbeTemplate tmpl(pc);
  dataplane.load_template(tmpl);

  CookieParams cookie;
  cookie.set_key(state.key, state.cookie);
  cookie.sport_first = plan.sport_first;
  cookie.sport_count = plan.sport_count;
  Dedup dedup(space, plan.dedup_memory);
  out.begin();
  sum.dedup_mode = std::string(dedup.mode());

  RunControl ctl;
  TargetBudget budget(state.budget);
  ctl.yield_when_blocked = plan.bench_responder;
  Ring control("dpscan_control", 1024, RING_F_SC_DEQ, 0);
  std::vector<std::unique_ptr<Ring>> result_rings;
  std::deque<TxStats> tx_stats(plan.tx_lcores);  // deque: stable addresses, no copies
  std::deque<RxStats> rx_stats(plan.rx_lcores);
  std::vector<CyclicWalk> walks;
  std::vector<TxWorker> tx(plan.tx_lcores);
  std::vector<RxWorker> rx(plan.rx_lcores);
  for (uint32_t t = 0; t < plan.tx_lcores; ++t) {
    walks.push_back(order.walk(t));
    walks.back().seek(state.start_position[t]);
  }
  for (uint32_t t = 0; t < plan.tx_lcores; ++t) {
    TxWorker& w = tx[t];
    w.port = dev.port();
    w.queue = static_cast<uint16_t>(t);
    w.pool = dev.tx_pool(w.queue);
    w.tmpl = &tmpl;
    w.cookie = cookie;
    w.sources = &plan.sources;
    w.order = &order;
    w.walk = &walks[t];
    w.sent_before = state.start_sent[t];
    w.budget = &budget;
    w.rate_pps = plan.rate_pps / plan.tx_lcores;
    w.control_ring = t == 0 ? control.get() : nullptr;  // TX lcore 0 sends the control frames
    w.control_queue = dev.control_queue();
    w.stats = &tx_stats[t];
    w.control = &ctl;
  }
  const uint64_t tsc_base = rte_rdtsc();
  const double unix_base = unix_now();
  for (uint32_t m = 0; m < plan.rx_lcores; ++m) {
    result_rings.push_back(std::make_unique<Ring>(fmt::format("dpscan_res{}", m), kResultRingSize,
                                                  RING_F_SP_ENQ | RING_F_SC_DEQ,
                                                  unsigned{sizeof(Result)}));
    RxWorker& w = rx[m];
    w.port = dev.port();
    w.first_queue = static_cast<uint16_t>(m);
    w.queue_stride = static_cast<uint16_t>(plan.rx_lcores);
    w.queues = dev.rx_queues();
    w.ctx = {plan.sources, cookie, plan.rx_checksum};
    w.csum_offload = dev.rx_checksum_offload();
    w.space = &space;
    w.dedup = &dedup;
    w.results = result_rings.back()->get();
    w.control_ring = control.get();
    w.control_pool = dev.control_pool();
    std::memcpy(w.mac, dev.mac(), 6);
    w.send_rst = plan.send_rst;
    w.ttl = plan.ttl;
    w.tsc_base = tsc_base;
    w.unix_base_s = static_cast<uint64_t>(unix_base);
    w.unix_base_frac_ticks = static_cast<uint64_t>(
        (unix_base - static_cast<double>(w.unix_base_s)) * static_cast<double>(rte_get_tsc_hz()));
    w.stats = &rx_stats[m];
    w.control = &ctl;
  }

  const DeviceInfo& di = dev.info();
  log::info(
      "device {}: driver {}, {} RX queue(s), {} TX queue(s), RX offloads: {}, TX offloads: {}",
      layout.port_name, di.driver, di.rx_queues, di.tx_queues,
      di.rx_offloads.empty() ? "none" : fmt::format("{}", fmt::join(di.rx_offloads, ",")),
      di.tx_offloads.empty() ? "none" : fmt::format("{}", fmt::join(di.tx_offloads, ",")));
  log::verbose(
      "{} probe TX queue(s), control frames on {} queue {}, MBUF_FAST_FREE on {}, "
      "RX checksums: {}",
      plan.tx_lcores, dev.control_queue_shared() ? "shared" : "its own", dev.control_queue(),
      dev.fast_free_queues(), to_string(plan.rx_checksum));
  sum.device = di;
  sum.device.name = layout.port_name;
  sum.rx_checksum = std::string(to_string(plan.rx_checksum));
  log::info("scanning {} addresses x {} ports = {} targets, {} probes{} at {}, seed {}{}",
            space.addresses(), space.ports().size(), space.size(), order.probes(),
            plan.shard_count > 1
                ? fmt::format(" (shard {}/{})", plan.shard_index + 1, plan.shard_count)
                : "",
            plan.rate_pps > 0 ? rate_text(plan.rate_pps) : "full speed", state.seed,
            state.resumed ? ", resumed" : "");
  if (bench) bench->launch(layout.responder_lcore, ctl.stop);
  bool launched = true;
  for (uint32_t m = 0; m < plan.rx_lcores; ++m)
    launched = launched && rte_eal_remote_launch(rx_main, &rx[m], layout.rx_lcores[m]) == 0;
  for (uint32_t t = 0; t < plan.tx_lcores; ++t)
    launched = launched && rte_eal_remote_launch(tx_main, &tx[t], layout.tx_lcores[t]) == 0;
  if (!launched) {
    ctl.stop = true;
    rte_eal_mp_wait_lcore();
    throw RuntimeError("cannot launch the worker lcores");
  }

  auto write_checkpoint_now = [&] {
    if (plan.checkpoint_path.empty()) return;
    std::vector<uint64_t> position, sent;
    for (const auto& s : tx_stats) {
      position.push_back(s.position.load(std::memory_order_relaxed));
      sent.push_back(s.total_sent.load(std::memory_order_relaxed));
    }
    out.flush();
    write_checkpoint(plan.checkpoint_path, state.checkpoint(position, sent));
  };
  auto all_tx_done = [&] {
    for (const auto& s : tx_stats)
      if (!s.done.load(std::memory_order_acquire)) return false;
    return true;
  };
  Result buf[256];
  auto drain = [&] {
    for (const auto& ring : result_rings) {
      unsigned n;
      while ((n = rte_ring_sc_dequeue_burst_elem(ring->get(), buf, sizeof(Result), 256, nullptr)) >
             0) {
        for (unsigned i = 0; i < n; ++i)
          if (plan.report[static_cast<size_t>(buf[i].status)]) out.result(buf[i]);
      }
    }
  };

  const TelemetryGuard telemetry([&] {
    const Totals t = totals(tx_stats, rx_stats);
    TelemetryFields f{{"sent", t.sent},
                      {"probes", order.probes()},
                      {"tx_retries", t.retries},
                      {"tx_alloc_waits", t.alloc_waits},
                      {"tx_pacing_stalls", t.pacing_stalls},
                      {"received", t.received},
                      {"open", t.by_status[0]},
                      {"closed", t.by_status[1]},
                      {"unreachable", t.by_status[2]},
                      {"duplicates", t.duplicates},
                      {"dropped", t.drops},
                      {"result_ring_full", t.result_ring_full}};
    for (size_t i = 0; i < kDropCount; ++i)
      f.emplace_back(std::string(drop_name(static_cast<Drop>(i))), t.drop[i]);
    const DeviceStats ds = dev.stats();
    f.emplace_back("rx_missed", ds.imissed);
    f.emplace_back("rx_errors", ds.ierrors);
    f.emplace_back("rx_nombuf", ds.rx_nombuf);
    return f;
  });

  // What this run will send at most: the shard's probes, or what --max-targets leaves.
  uint64_t planned = 0;
  for (const auto& w : walks) planned += w.length();  // group steps: a slight overestimate
  planned = plan.shard_count == 1 ? order.probes()
                                  : std::min<uint64_t>(planned, order.probes() / plan.shard_count);
  if (!budget.unlimited()) planned = std::min(planned, budget.left());
  StatusPrinter status(plan.status_format, std::max<uint64_t>(tmpl.size(), 60) + 24);

  // Main loop: drain results, status once a second, checkpoints, decide when to stop.
  const auto begin = Clock::now();
  auto next_status = begin + std::chrono::seconds(1);
  auto next_checkpoint = begin + seconds(plan.checkpoint_interval_s);
  Totals last{};
  auto last_time = begin;
  std::optional<Clock::time_point> cooldown_end;
  for (;;) {
    drain();
    const int irq = interrupts.load();
    const auto now = Clock::now();
    if (irq >= 1 && !ctl.stop_sending.load()) {
      ctl.stop_sending = true;
      sum.interrupted = true;
    }
    if (plan.max_runtime_s > 0 && now - begin >= seconds(plan.max_runtime_s))
      ctl.stop_sending = true;
    if (irq >= 2) break;
    if (!cooldown_end && all_tx_done()) {
      cooldown_end = now + seconds(plan.cooldown_s);
      write_checkpoint_now();  // sending is over: the final positions
      if (sum.interrupted) {
        log::info(
            "interrupted: sending stopped; waiting {} s for answers (Ctrl-C again to quit now)",
            plan.cooldown_s);
      }
    }
    if (cooldown_end && now >= *cooldown_end) break;
    if (!cooldown_end && now >= next_checkpoint) {
      write_checkpoint_now();
      next_checkpoint = now + seconds(plan.checkpoint_interval_s);
    }
    if (now >= next_status) {
      const Totals s = totals(tx_stats, rx_stats);
      const double dt = std::chrono::duration<double>(now - last_time).count();
      StatusSample sample;
      sample.elapsed_s = std::chrono::duration<double>(now - begin).count();
      sample.planned = all_tx_done() ? s.sent : planned;  // done is 100%, whatever the estimate
      sample.sent = s.sent;
      sample.rate_pps = static_cast<double>(s.sent - last.sent) / dt;
      sample.received = s.received;
      sample.open = s.by_status[0];
      sample.closed = s.by_status[1];
      sample.unreachable = s.by_status[2];
      sample.duplicates = s.duplicates;
      sample.drops = s.drops;
      for (size_t i = 0; i < kDropCount; ++i)
        if (s.drop[i])
          sample.drops_by_cause.emplace_back(std::string(drop_name(static_cast<Drop>(i))),
                                             s.drop[i]);
      if (s.result_ring_full)
        sample.drops_by_cause.emplace_back("result_ring_full", s.result_ring_full);
      if (s.control_ring_full)
        sample.drops_by_cause.emplace_back("control_ring_full", s.control_ring_full);
      sample.cooldown = cooldown_end.has_value();
      if (cooldown_end)
        sample.cooldown_left_s = std::chrono::duration<double>(*cooldown_end - now).count();
      status.print(sample);
      last = s;
      last_time = now;
      next_status += std::chrono::seconds(1);
      if (next_status < now) next_status = now + std::chrono::seconds(1);
    }
    std::this_thread::sleep_for(kMainTick);
  }
  status.finish();
  ctl.stop_sending = true;
  ctl.stop = true;
  rte_eal_mp_wait_lcore();
  drain();
  write_checkpoint_now();

  DeviceStats ds = dev.stats();
  ds.imissed -= stats_before.imissed;
  ds.ierrors -= stats_before.ierrors;
  ds.rx_nombuf -= stats_before.rx_nombuf;
  // Control frames still queued for TX lcore 0 were never sent; the queue is gone now.
  rte_mbuf* left[64];
  unsigned nleft;
  while ((nleft = rte_ring_dequeue_burst(control.get(), reinterpret_cast<void**>(left), 64,
                                         nullptr)) > 0)
    rte_pktmbuf_free_bulk(left, nleft);

  const Totals t = totals(tx_stats, rx_stats);
  sum.sent = t.sent;
  sum.tx_retries = t.retries;
  sum.tx_alloc_waits = t.alloc_waits;
  sum.tx_pacing_stalls = t.pacing_stalls;
  sum.control_sent = t.control_sent;
  uint64_t t0 = ~uint64_t{0}, t1 = 0;
  for (const auto& s : tx_stats) {
    t0 = std::min(t0, s.start_tsc.load());
    t1 = std::max(t1, s.end_tsc.load());
  }
  sum.send_duration_s =
      t1 > t0 ? static_cast<double>(t1 - t0) / static_cast<double>(rte_get_tsc_hz()) : 0;
  sum.received = t.received;
  sum.by_status = t.by_status;
  sum.duplicates = t.duplicates;
  sum.dropped = t.drop;
  sum.result_ring_full = t.result_ring_full;
  sum.control_ring_full = t.control_ring_full;
  sum.rx_missed = ds.imissed;
  sum.rx_errors = ds.ierrors;
  sum.rx_nombuf = ds.rx_nombuf;
  sum.arp_replies = t.arp_replies;
  sum.rst_sent = t.rst_sent;
  sum.rx_vlan_tagged = t.vlan_tagged;
  sum.rx_ip_options = t.ip_options;
  sum.rx_csum_partial = t.csum_partial;
  sum.rx_csum_device = t.csum_device;
  if (bench) sum.bench_answered = bench->stats().answered.get();
  sum.end_time = unix_now();
  return sum;
}

}  // namespace dpscan
