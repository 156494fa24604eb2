// A scan in named steps (docs/architecture.md): set-up (RunSetup, then ScanSender's
// constructor: device, gateway, template, cookies, deduplication, rings and the lcores'
// contexts), launch, the main loop (main_loop.cpp), stop, and the summary.
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <bit>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "bench_responder.hpp"
#include "dataplane.hpp"
#include "device.hpp"
#include "dpscan/addr.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/ndp.hpp"
#include "dpscan/result.hpp"
#include "eal.hpp"
#include "engine.hpp"
#include "gateway.hpp"
#include "main_loop.hpp"
#include "memif_quiesce.hpp"
#include "probe/modules.hpp"
#include "run_setup.hpp"
#include "rx_loop.hpp"
#include "status.hpp"
#include "telemetry.hpp"
#include "tx_loop.hpp"
#include "workers.hpp"

namespace dpscan {

CounterValues collect_counters(const std::deque<TxStats>& tx, const std::deque<RxStats>& rx,
                               const std::array<uint64_t, kDeviceSlots>& device) {
  CounterValues c;
  for (const auto& s : tx)
    for (size_t i = 0; i < kTxSlots; ++i) c.add(CounterHome::kTx, i, s.counters.get(i));
  for (const auto& s : rx)
    for (size_t i = 0; i < kRxSlots; ++i) c.add(CounterHome::kRx, i, s.counters.get(i));
  for (size_t i = 0; i < kDeviceSlots; ++i) c.add(CounterHome::kDevice, i, device[i]);
  return c;
}

namespace {

// The main lcore wakes every 5 ms to drain results: 200 system calls a second whatever the
// packet rate, and a result ring deep enough for 5 ms at any RX rate this machine reaches
// (2^18 results = 52 Mpps for 5 ms).
constexpr auto kMainTick = std::chrono::milliseconds(5);
constexpr unsigned kResultRingSize = 1u << 18;

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

template <typename F>
MacAddr gateway_mac(const ScanPlan& plan, Device& dev) {
  using A = typename F::Addr;
  if (plan.gateway_mac) return *plan.gateway_mac;
  const A gateway = *gateway_of(A{}, plan);
  log::info("resolving gateway {} by {}", gateway.to_string(),
            F::kFamily == Family::kIpv4 ? "ARP" : "neighbour discovery");
  return resolve_gateway<F>(dev, sources_of(A{}, plan), gateway);
}

CookieParams make_cookie_params(const ScanPlan& plan, const RunState& state) {
  CookieParams cookie;
  cookie.set_key(state.key, state.cookie);
  cookie.sport_first = plan.sport_first;
  cookie.sport_count = plan.sport_count;
  return cookie;
}

// IPv6: the multicast groups our neighbours' solicitations go to (each source address's and
// the link-local address's solicited-node group) and all nodes, on the device's filter.
template <typename F>
bool listen_for_neighbours(const ScanPlan& plan, Device& dev) {
  if constexpr (F::kFamily == Family::kIpv6) {
    std::vector<MacAddr> groups{multicast_mac_of(kAllNodes),
                                multicast_mac_of(solicited_node_of(link_local_of(dev.mac())))};
    for (Ipv6Addr a : plan.sources6.all()) groups.push_back(multicast_mac_of(solicited_node_of(a)));
    dev.listen_multicast(groups);
  }
  return true;
}

// The DPDK side of a scan with probe module M: TX lcores send, RX lcores classify, the main
// lcore drains.
template <ProbeModule M>
class ScanSender final : public Sender {
 public:
  using F = typename M::Family;
  using Addr = typename F::Addr;

  // Set-up: the device (EAL once per process), the gateway's MAC, the probe template in
  // every TX buffer, the lcores' contexts. Throws RuntimeError.
  // The dataplane must be open (Dataplane::open).
  ScanSender(const ScanPlan& plan, const RunSetup<F>& run, Dataplane& dataplane)
      : plan_(plan),
        run_(run),
        dataplane_(dataplane),
        dev_(dataplane.device()),
        device_before_(device_counters_now()),
        listening_(listen_for_neighbours<F>(plan, dev_)),
        tmpl_(M::make_template(
            LinkConfig{dev_.mac(), gateway_mac<F>(plan, dev_), plan.ttl, run.state.flow_label()},
            plan)),
        cookie_(make_cookie_params(plan, run.state)),
        dedup_(run.space.size(), plan.dedup_memory),
        budget_(run.state.budget),
        control_("dpscan_control", 1024, RING_F_SC_DEQ, 0),
        tx_stats_(plan.tx_lcores),
        rx_stats_(plan.rx_lcores),
        tx_(plan.tx_lcores),
        rx_(plan.rx_lcores) {
    dataplane.load_template(tmpl_.frame());
    ctl_.yield_when_blocked = plan.bench_responder;
    wire_tx();
    wire_rx();
    listen_for_departures();
    planned_ = initial_plan();
    log_start();
    telemetry_.emplace([this] {
      const CounterValues c = counters();
      TelemetryFields f{{"probes", run_.order.probes()}, {"dropped", c.dropped_total()}};
      const auto& table = counter_table();
      for (size_t i = 0; i < table.size(); ++i) f.emplace_back(table[i].name, c[i]);
      return f;
    });
  }

  void launch() override {
    const EalLayout& layout = dataplane_.layout();
    if (layout.single_lcore) {
      // --lcores 1: the loops run on this (the main) lcore, in turns, from poll().
      tx_loop_.emplace(tx_[0]);
      rx_loop_.emplace(rx_[0]);
      return;
    }
    if (BenchResponder* bench = dataplane_.responder())
      bench->launch(layout.responder_lcore, ctl_.stop);
    bool launched = true;
    for (uint32_t m = 0; m < plan_.rx_lcores; ++m)
      launched = launched && rte_eal_remote_launch(rx_main<M>, &rx_[m], layout.rx_lcores[m]) == 0;
    for (uint32_t t = 0; t < plan_.tx_lcores; ++t)
      launched = launched && rte_eal_remote_launch(tx_main<M>, &tx_[t], layout.tx_lcores[t]) == 0;
    if (!launched) {
      ctl_.stop = true;
      rte_eal_mp_wait_lcore();
      throw RuntimeError("cannot launch the worker lcores");
    }
  }

  // Drains the result rings into the outputs (filtered by --report). With --lcores 1 it first
  // runs the TX and RX loops in turns for a slice (about 1 ms), so that the main loop's own
  // work (results, status, checkpoints) takes a small share of the one lcore.
  bool poll(Outputs& out) override {
    watch_peer();
    if (tx_loop_) {
      const uint64_t end = rte_rdtsc() + slice_ticks_;
      do {
        for (int i = 0; i < 16; ++i) {
          tx_loop_->step();
          rx_loop_->step();
        }
      } while (rte_rdtsc() < end);
    }
    const size_t stride = result_stride(keep_bytes());
    const auto esize = static_cast<unsigned>(stride);
    const unsigned burst = static_cast<unsigned>(sizeof result_buf_ / stride);
    for (const auto& ring : result_rings_) {
      unsigned n;
      while ((n = rte_ring_sc_dequeue_burst_elem(ring->get(), result_buf_, esize, burst, nullptr)) >
             0) {
        for (unsigned i = 0; i < n; ++i) {
          Result r;
          const uint8_t* e = result_buf_ + size_t{i} * stride;
          std::memcpy(&r, e, sizeof r);
          if (plan_.report[static_cast<size_t>(r.status)])
            out.result(ResultView{r, {e + sizeof r, r.data_len}});
        }
      }
    }
    return tx_loop_.has_value();  // one lcore: no sleeping between slices
  }

  bool sending_done() const override {
    for (const auto& s : tx_stats_)
      if (!s.done.load(std::memory_order_acquire)) return false;
    return true;
  }
  void stop_sending() override { ctl_.stop_sending = true; }

  // The end: the lcores leave their loops, the last results are handed over, control frames
  // still queued for TX lcore 0 (never sent) are freed.
  void stop(Outputs& out) override {
    ctl_.stop_sending = true;
    ctl_.stop = true;
    rte_eal_mp_wait_lcore();
    if (tx_loop_) {
      tx_loop_->finish();
      tx_loop_.reset();
      rx_loop_.reset();
    }
    poll(out);
    rte_mbuf* left[64];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(control_.get(), reinterpret_cast<void**>(left), 64,
                                       nullptr)) > 0)
      rte_pktmbuf_free_bulk(left, n);
  }

  SendProgress progress() const override {
    SendProgress p;
    for (const auto& s : tx_stats_) {
      p.positions.push_back(s.position.load(std::memory_order_relaxed));
      p.sent.push_back(s.total_sent.load(std::memory_order_relaxed));
    }
    return p;
  }

  CounterValues counters() const override {
    const auto now = device_counters_now();
    std::array<uint64_t, kDeviceSlots> device{};
    for (size_t i = 0; i < kDeviceSlots; ++i) device[i] = now[i] - device_before_[i];
    return collect_counters(tx_stats_, rx_stats_, device);
  }

  std::vector<LcoreCounters> lcore_counters() const override {
    std::vector<LcoreCounters> out;
    for (size_t t = 0; t < tx_stats_.size(); ++t) {
      out.push_back({fmt::format("tx{}", t), CounterHome::kTx, {}});
      for (size_t i = 0; i < kTxSlots; ++i)
        out.back().values.add(CounterHome::kTx, i, tx_stats_[t].counters.get(i));
    }
    for (size_t r = 0; r < rx_stats_.size(); ++r) {
      out.push_back({fmt::format("rx{}", r), CounterHome::kRx, {}});
      for (size_t i = 0; i < kRxSlots; ++i)
        out.back().values.add(CounterHome::kRx, i, rx_stats_[r].counters.get(i));
    }
    return out;
  }

  uint64_t planned() const override { return planned_; }

  uint64_t wire_bytes() const { return std::max<uint64_t>(tmpl_.frame().size(), 60) + 24; }

  // The summary's figures from the devices and lcores, after stop().
  void summarize(RunSummary& sum) const {
    sum.cookie = std::string(to_string(run_.state.cookie));
    sum.dedup_mode = std::string(dedup_.mode());
    sum.device = dev_.info();
    sum.device.name = dataplane_.layout().port_name;
    sum.rx_checksum = std::string(to_string(plan_.rx_checksum));
    sum.counters = counters();
    uint64_t t0 = ~uint64_t{0}, t1 = 0;
    for (const auto& s : tx_stats_) {
      t0 = std::min(t0, s.start_tsc.load());
      t1 = std::max(t1, s.end_tsc.load());
    }
    sum.send_duration_s =
        t1 > t0 ? static_cast<double>(t1 - t0) / static_cast<double>(rte_get_tsc_hz()) : 0;
    if (const BenchResponder* bench = dataplane_.responder())
      sum.bench_answered = bench->stats().answered.get();
  }

 private:
  // Device counters add up over a campaign's scans: each scan reports its own share.
  std::array<uint64_t, kDeviceSlots> device_counters_now() const {
    const DeviceStats d = dev_.stats();
    std::array<uint64_t, kDeviceSlots> v{};
    v[static_cast<size_t>(DeviceCounter::kMissed)] = d.imissed;
    v[static_cast<size_t>(DeviceCounter::kErrors)] = d.ierrors;
    v[static_cast<size_t>(DeviceCounter::kNoMbuf)] = d.rx_nombuf;
    v[static_cast<size_t>(DeviceCounter::kIfaceDropped)] = d.iface_dropped;
    return v;
  }

  // What this run will send at most: the shard's probes, or what --max-targets leaves.
  uint64_t initial_plan() const {
    uint64_t planned = 0;
    for (const auto& w : walks_) planned += w.length();  // group steps: a slight overestimate
    planned = plan_.shard_count == 1
                  ? run_.order.probes()
                  : std::min<uint64_t>(planned, run_.order.probes() / plan_.shard_count);
    if (!budget_.unlimited()) planned = std::min(planned, budget_.left());
    return planned;
  }

  uint16_t keep_bytes() const { return plan_.udp_response_bytes; }

  void wire_tx() {
    for (uint32_t t = 0; t < plan_.tx_lcores; ++t) {
      walks_.push_back(run_.order.walk(t));
      walks_.back().seek(run_.state.start_position[t]);
    }
    for (uint32_t t = 0; t < plan_.tx_lcores; ++t) {
      TxWorker<M>& w = tx_[t];
      w.port = dev_.port();
      w.queue = static_cast<uint16_t>(t);
      w.pool = dev_.tx_pool(w.queue);
      w.tx = {&tmpl_, cookie_, &sources_of(Addr{}, plan_), &run_.order, &run_.space};
      w.walk = &walks_[t];
      w.sent_before = run_.state.start_sent[t];
      w.budget = &budget_;
      w.rate_pps = plan_.rate_pps / plan_.tx_lcores;
      w.control_ring = t == 0 ? control_.get() : nullptr;  // TX lcore 0 sends control frames
      w.control_queue = dev_.control_queue();
      w.stats = &tx_stats_[t];
      w.control = &ctl_;
      w.gate = new_gate();
    }
  }

  // net_memif: a gate per lcore that bursts on the port (workers.hpp), else none.
  BurstGate* new_gate() {
    if (dev_.info().driver != "net_memif") return nullptr;
    return &gates_.emplace_back();
  }

  // net_memif: a departing peer (its announcement, memif_quiesce.hpp) waits until no lcore
  // bursts on the port; bursts go on once the link went down (and, later, up again).
  void watch_peer() {
    if (!quiesce_) return;
    quiesce_->poll([this] {
      ctl_.port_paused.store(true, std::memory_order_seq_cst);
      for (const BurstGate& g : gates_)
        while (g.busy.load(std::memory_order_seq_cst)) rte_pause();
    });
    if (!ctl_.port_paused.load(std::memory_order_relaxed)) return;
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(dev_.port(), &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
      return;
    quiesce_->link_down();
    ctl_.port_paused.store(false, std::memory_order_seq_cst);
  }

  void listen_for_departures() {
    if (gates_.empty()) return;
    try {
      quiesce_.emplace(plan_.device);
    } catch (const RuntimeError& e) {
      log::warn("{}: a departing memif peer cannot announce itself", e.what());
    }
  }

  void wire_rx() {
    const uint64_t tsc_base = rte_rdtsc();
    const double unix_base = unix_now();
    const size_t stride = result_stride(keep_bytes());
    // 2^18 results (5 ms at 52 Mpps), fewer when each keeps payload bytes: at most 64 MiB.
    const unsigned ring_size = static_cast<unsigned>(
        std::min<size_t>(kResultRingSize, std::bit_floor((size_t{64} << 20) / stride)));
    const auto& sources = sources_of(Addr{}, plan_);
    for (uint32_t m = 0; m < plan_.rx_lcores; ++m) {
      result_rings_.push_back(std::make_unique<Ring>(fmt::format("dpscan_res{}", m), ring_size,
                                                     RING_F_SP_ENQ | RING_F_SC_DEQ,
                                                     static_cast<unsigned>(stride)));
      RxWorker<M>& w = rx_[m];
      w.port = dev_.port();
      w.first_queue = static_cast<uint16_t>(m);
      w.queue_stride = static_cast<uint16_t>(plan_.rx_lcores);
      w.queues = dev_.rx_queues();
      w.ctx = {sources, cookie_, plan_.rx_checksum, M::make_rx_config(plan_)};
      w.csum_offload = dev_.rx_checksum_offload();
      w.space = &run_.space;
      w.dedup = &dedup_;
      w.results = result_rings_.back()->get();
      w.keep_bytes = keep_bytes();
      w.control_ring = control_.get();
      w.control_pool = dev_.control_pool();
      w.reply = {dev_.mac(), plan_.ttl};
      w.neighbour = {dev_.mac(), &sources, link_local_of(dev_.mac())};
      w.send_replies = plan_.send_rst;
      w.gate = new_gate();
      w.tsc_base = tsc_base;
      w.unix_base_s = static_cast<uint64_t>(unix_base);
      w.unix_base_frac_ticks = static_cast<uint64_t>(
          (unix_base - static_cast<double>(w.unix_base_s)) * static_cast<double>(rte_get_tsc_hz()));
      w.stats = &rx_stats_[m];
      w.control = &ctl_;
    }
  }

  void log_start() const {
    const DeviceInfo& di = dev_.info();
    log::info(
        "device {}: driver {}, {} RX queue(s), {} TX queue(s), RX offloads: {}, TX offloads: {}",
        dataplane_.layout().port_name, di.driver, di.rx_queues, di.tx_queues,
        di.rx_offloads.empty() ? "none" : fmt::format("{}", fmt::join(di.rx_offloads, ",")),
        di.tx_offloads.empty() ? "none" : fmt::format("{}", fmt::join(di.tx_offloads, ",")));
    log::verbose(
        "{} probe TX queue(s), control frames on {} queue {}, MBUF_FAST_FREE on {}, "
        "RX checksums: {}",
        plan_.tx_lcores, dev_.control_queue_shared() ? "shared" : "its own", dev_.control_queue(),
        dev_.fast_free_queues(), to_string(plan_.rx_checksum));
    const auto& space = run_.space;
    log::info("scanning {} {} addresses x {} = {} targets, {} probes ({} {}){} at {}, seed {}{}",
              space.addresses(), F::kName, run_.ports_text(), space.size(), run_.order.probes(),
              M::kName, F::kName,
              plan_.shard_count > 1
                  ? fmt::format(" (shard {}/{})", plan_.shard_index + 1, plan_.shard_count)
                  : "",
              plan_.rate_pps > 0 ? rate_text(plan_.rate_pps) : "full speed", run_.state.seed,
              run_.state.resumed ? ", resumed" : "");
  }

  const ScanPlan& plan_;
  const RunSetup<F>& run_;
  Dataplane& dataplane_;
  Device& dev_;
  const std::array<uint64_t, kDeviceSlots> device_before_;
  const bool listening_;  // IPv6: the neighbour-discovery groups are on the device's filter
  const typename M::Template tmpl_;
  const CookieParams cookie_;
  Dedup dedup_;
  TargetBudget budget_;
  RunControl ctl_;
  std::deque<BurstGate> gates_;  // deque: stable addresses
  std::optional<QuiesceListener> quiesce_;
  Ring control_;
  std::vector<std::unique_ptr<Ring>> result_rings_;
  std::deque<TxStats> tx_stats_;  // deque: stable addresses, no copies
  std::deque<RxStats> rx_stats_;
  std::vector<CyclicWalk> walks_;
  std::vector<TxWorker<M>> tx_;
  std::vector<RxWorker<M>> rx_;
  uint64_t planned_ = 0;
  // --lcores 1: the loops, run by poll() on the main lcore, a slice of about 1 ms at a time.
  std::optional<TxLoop<M>> tx_loop_;
  std::optional<RxLoop<M>> rx_loop_;
  const uint64_t slice_ticks_ = rte_get_tsc_hz() / 1000;
  std::optional<TelemetryGuard> telemetry_;
  alignas(64) uint8_t result_buf_[64 * 1024];  // the main lcore's dequeue buffer
};

template <ProbeModule M>
RunSummary run_scan_with(const ScanPlan& plan, Dataplane& dataplane, Outputs& out,
                         const std::atomic<int>& interrupts, RunLease* lease,
                         MetricsServer* metrics) {
  const RunSetup<typename M::Family> run(plan);  // set-up, shared with the dry run
  RunSummary sum = run.summary_start(plan);
  dataplane.open(plan);  // EAL and the device, once per process
  ScanSender<M> sender(plan, run, dataplane);
  out.begin();
  StatusPrinter status(plan.status_format, sender.wire_bytes());
  MainLoop loop(plan, run.state, sender, out, interrupts,
                LoopConfig{plan.cooldown_s, kMainTick, &status, metrics, lease});
  sum.interrupted = loop.run();  // launch, main loop, stop
  sender.summarize(sum);
  sum.end_time = unix_now();
  return sum;
}

}  // namespace

RunSummary run_scan(const ScanPlan& plan, Dataplane& dataplane, Outputs& out,
                    const std::atomic<int>& interrupts, RunLease* lease, MetricsServer* metrics) {
  return with_scan(plan.family, plan.probe, [&](auto module) {
    return run_scan_with<decltype(module)>(plan, dataplane, out, interrupts, lease, metrics);
  });
}

}  // namespace dpscan
