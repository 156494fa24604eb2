#include "reflector.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

#include "answer_frames.hpp"
#include "delay_line.hpp"
#include "dpscan/arp.hpp"
#include "dpscan/bytes.hpp"
#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/output.hpp"
#include "dpscan/rng.hpp"
#include "frames.hpp"
#include "reflect_family.hpp"
#include "udp_services.hpp"

namespace dpscan::reflect {

const std::vector<std::pair<const char*, uint64_t Counters::*>>& counter_fields() {
  static const std::vector<std::pair<const char*, uint64_t Counters::*>> fields{
      {"received", &Counters::received},
      {"probes", &Counters::probes},
      {"rst_received", &Counters::rst_received},
      {"arp_requests", &Counters::arp_requests},
      {"ignored", &Counters::ignored},
      {"lost_in", &Counters::lost_in},
      {"silent", &Counters::silent},
      {"suppressed", &Counters::suppressed},
      {"duplicated", &Counters::duplicated},
      {"reordered", &Counters::reordered},
      {"retransmit_cancelled", &Counters::retransmit_cancelled},
      {"lost_out", &Counters::lost_out},
      {"sent_synack", &Counters::sent_synack},
      {"sent_rst", &Counters::sent_rst},
      {"sent_icmp", &Counters::sent_icmp},
      {"retransmissions", &Counters::retransmissions},
      {"arp_replies", &Counters::arp_replies},
      {"ndp_solicits", &Counters::ndp_solicits},
      {"ndp_adverts", &Counters::ndp_adverts},
      {"noise", &Counters::noise},
      {"queue_full", &Counters::queue_full},
      {"tx_retries", &Counters::tx_retries},
      {"no_buffer", &Counters::no_buffer},
      {"not_sent", &Counters::not_sent},
      {"answered_ring_full", &Counters::answered_ring_full},
      {"udp_probes", &Counters::udp_probes},
      {"echo_requests", &Counters::echo_requests},
      {"unanswerable", &Counters::unanswerable},
      {"host_suppressed", &Counters::host_suppressed},
      {"sent_udp", &Counters::sent_udp},
      {"sent_echo", &Counters::sent_echo},
  };
  return fields;
}

namespace {

constexpr unsigned kBurst = 64;
constexpr unsigned kPoolSize = 32767;
constexpr size_t kCancelSlots = size_t{1} << 22;

// An answer waiting in the delay line.
template <typename Echo>
struct PendingOf {
  Echo probe;
  MacAddr scanner_mac;
  Fate fate;
  uint8_t icmp_code;
  uint8_t ttl;
  OptionProfile options;
  uint16_t window;
  uint8_t retries;  // SYN-ACK retransmissions the stack makes
  uint8_t attempt;  // 0: the first answer; n: the n-th retransmission
};

}  // namespace

// The loop's state, whatever the family: what Reflector's accessors read.
struct Reflector::Impl {
  Impl(uint64_t h, uint64_t s) : hz(h), start(s) {}
  virtual ~Impl() = default;
  virtual void run(const std::atomic<int>& interrupts) = 0;
  virtual size_t queued() const = 0;
  uint64_t hz;
  uint64_t start;
  uint64_t stopped = 0;
  Counters c;
};

namespace {

template <typename F>
struct ImplOf final : Reflector::Impl {
  using S = Side<F>;
  using Addr = typename F::Addr;
  using Pending = PendingOf<typename S::Echo>;

  ImplOf(const World& w, uint64_t s, uint16_t p, uint16_t rxq, uint16_t txq, const MacAddr& m,
         const ReflectorOptions& o)
      : Impl(rte_get_tsc_hz(), rte_rdtsc()),
        world(w),
        imp(w.config().impairments),
        seed(s),
        port(p),
        rx_queues(rxq),
        tx_queue(txq),
        mac(m),
        opt(o),
        line(o.queue_capacity, hz / 1000, start),
        limiter(imp.icmp_rate, imp.icmp_burst, hz),
        host_limiter(imp.host_icmp_rate, imp.host_icmp_burst, hz),
        cancel(kCancelSlots, 0),
        rng(s ^ 0x7265666c656374ULL) {
    pool = rte_pktmbuf_pool_create("reflect_tx", kPoolSize, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   static_cast<int>(rte_socket_id()));
    if (!pool) throw RuntimeError("cannot create the reflector's packet buffer pool");
    loss_in = threshold(imp.loss_in);
    loss_out = threshold(imp.loss_out);
    reorder = threshold(imp.reorder);
    duplicate = threshold(imp.duplicate);
    jitter_ticks = static_cast<uint64_t>(imp.jitter_ms * 1e-3 * static_cast<double>(hz));
    noise_interval =
        imp.noise_pps > 0 ? static_cast<uint64_t>(static_cast<double>(hz) / imp.noise_pps) : 0;
    unix_base =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    if (opt.answered) opt.answered->set_clock(hz, start, unix_base);
  }

  ~ImplOf() override {
    for (unsigned i = 0; i < tx_n; ++i) rte_pktmbuf_free(tx[tx_first + i]);
  }

  uint64_t ticks_ns(uint64_t ns) const {
    return static_cast<uint64_t>(static_cast<double>(ns) * 1e-9 * static_cast<double>(hz));
  }

  void handle(rte_mbuf* m, uint64_t now) {
    const uint8_t* f = rte_pktmbuf_mtod(m, const uint8_t*);
    const size_t len = rte_pktmbuf_data_len(m);
    if (len < eth::kLen) return void(++c.ignored);
    if (S::is_neighbour(f, len)) return neighbour(f, len);
    typename S::Echo e;
    uint8_t flags = 0;
    const uint8_t proto = S::parse(f, len, e, flags);
    if (!proto) return void(++c.ignored);
    if (proto != ip4::kProtoTcp) return datagram(f, e, now);
    if (flags & tcp::kRst) {
      ++c.rst_received;
      if (below(rng.next(), loss_in)) return void(++c.lost_in);
      // The scanner resets the connection the SYN-ACK offered: its retransmissions stop.
      const uint64_t key = S::pair_key(e.target, e.tport, e.sport);
      cancel[key & (kCancelSlots - 1)] = key;
      return;
    }
    if ((flags & (tcp::kSyn | tcp::kAck_)) != tcp::kSyn) return void(++c.ignored);
    ++c.probes;
    scanner_mac = MacAddr::from(f + eth::kSrc);
    scanner_ip = e.scanner;
    scanner_seen = true;
    if (below(rng.next(), loss_in)) return void(++c.lost_in);
    meet(e, world.answer(e.target, e.tport), now);
  }

  // A UDP datagram or an ICMP(v6) echo request: what the world has there. A service answers
  // only a request it understands, held whole; an echo reply repeats the whole request.
  void datagram(const uint8_t* f, const typename S::Echo& e, uint64_t now) {
    const bool udp = e.proto == ip4::kProtoUdp;
    ++(udp ? c.udp_probes : c.echo_requests);
    scanner_mac = MacAddr::from(f + eth::kSrc);
    scanner_ip = e.scanner;
    scanner_seen = true;
    if (below(rng.next(), loss_in)) return void(++c.lost_in);
    const Answer a = udp ? world.answer_udp(e.target, e.tport) : world.answer_echo(e.target);
    const bool whole = S::l4(e).size() == e.l4_full;
    if (a.fate == Fate::kUdpReply) {
      uint8_t scratch[kMaxUdpAnswer];
      if (!whole || !udp_answer(udp_service_of(e.tport), S::l4(e).subspan(udp::kLen), 0, scratch))
        return void(++c.unanswerable);
    }
    if (a.fate == Fate::kEchoReply && !whole) return void(++c.unanswerable);
    meet(e, a, now);
  }

  // A probe meets its answer: rate limits, then the delay line (round trip, jitter,
  // reordering, duplicates).
  void meet(const typename S::Echo& e, const Answer& a, uint64_t now) {
    if (a.fate == Fate::kSilent) return void(++c.silent);
    if (a.fate == Fate::kIcmp && !limiter.allow(S::router_key(world, e.target), now))
      return void(++c.suppressed);
    if (a.fate == Fate::kPortUnreach && !host_limiter.allow(S::host_key(e.target), now))
      return void(++c.host_suppressed);
    const uint64_t rtt = ticks_ns(world.rtt_ns(e.target));
    uint64_t due = now + rtt + (jitter_ticks ? rng.next() % (jitter_ticks + 1) : 0);
    if (below(rng.next(), reorder)) {
      due += rtt / 2 + hz / 1000;
      ++c.reordered;
    }
    const Pending p{e,        scanner_mac,      a.fate, a.icmp_code, a.ttl, a.options,
                    a.window, a.synack_retries, 0};
    schedule(due, p);
    if (below(rng.next(), duplicate)) {
      ++c.duplicated;
      schedule(due + (jitter_ticks ? rng.next() % (jitter_ticks + 1) : 0), p);
    }
  }

  void schedule(uint64_t due, const Pending& p) {
    if (!line.push(due, p)) ++c.queue_full;
  }

  // ARP requests (IPv4) or neighbour solicitations (IPv6) for the gateway address.
  void neighbour(const uint8_t* f, size_t len) {
    constexpr bool v6 = F::kFamily == Family::kIpv6;
    uint8_t reply[128];
    const int n = S::answer_neighbour(f, len, gateway(), mac, reply);
    if (n < 0) return void(++c.ignored);
    ++(v6 ? c.ndp_solicits : c.arp_requests);
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) return void(++c.no_buffer);
    std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), reply, static_cast<size_t>(n));
    set_length(m, static_cast<size_t>(n));
    ++(v6 ? c.ndp_adverts : c.arp_replies);
    queue_tx(m, nullptr);
  }

  Addr gateway() const {
    if constexpr (F::kFamily == Family::kIpv6)
      return opt.gateway_ip6;
    else
      return opt.gateway_ip;
  }

  static void set_length(rte_mbuf* m, size_t n) {
    m->data_len = static_cast<uint16_t>(n);
    m->pkt_len = static_cast<uint32_t>(n);
  }

  // The sequence number a target's stack picks for its SYN-ACK: keyed by the connection, so
  // a retransmission repeats it.
  uint32_t isn(const typename S::Echo& e) const {
    return static_cast<uint32_t>(keyed(seed, 10, S::pair_key(e.target, e.tport, e.sport)));
  }

  size_t build(const Pending& p, uint8_t* out, uint64_t now) const {
    if (p.fate == Fate::kIcmp)
      return S::build_icmp(out, mac, p.scanner_mac, world, p.probe, p.icmp_code, p.ttl);
    if (p.fate == Fate::kPortUnreach)
      return S::build_port_unreachable(out, mac, p.scanner_mac, p.probe, p.ttl);
    if (p.fate == Fate::kEchoReply) {
      const auto m = S::l4(p.probe);
      return build_echo_reply<F>(out, mac, p.scanner_mac, p.probe.target, p.probe.scanner, p.ttl,
                                 m.data(), m.size());
    }
    if (p.fate == Fate::kUdpReply) {
      uint8_t data[kMaxUdpAnswer];
      const double t = unix_base + static_cast<double>(now - start) / static_cast<double>(hz);
      const size_t n = udp_answer(udp_service_of(p.probe.tport), S::l4(p.probe).subspan(udp::kLen),
                                  ntp_time(t), data);
      return build_udp_frame<F>(out, mac, p.scanner_mac, p.probe.target, p.probe.scanner,
                                p.probe.tport, p.probe.sport, p.ttl, data, n);
    }
    TcpSegmentOf<Addr> s;
    s.src_mac = mac;
    s.dst_mac = p.scanner_mac;
    s.src = p.probe.target;
    s.dst = p.probe.scanner;
    s.sport = p.probe.tport;
    s.dport = p.probe.sport;
    s.ack = p.probe.seq + 1;
    s.ttl = p.ttl;
    s.window = p.window;
    if (p.fate == Fate::kSynAck) {
      s.seq = isn(p.probe);
      s.flags = tcp::kSyn | tcp::kAck_;
      s.options = p.options;
    } else {
      s.flags = tcp::kRst | tcp::kAck_;
    }
    return build_tcp_frame<F>(out, s);
  }

  // Answers due by `now`: lost on the way back, or built and queued for the port; a SYN-ACK's
  // next retransmission is scheduled (1 s, 2 s, 4 s, ... later) whether this one arrives or
  // not, since its stack cannot tell.
  void send_due(uint64_t now) {
    if (tx_n) flush_tx();
    if (tx_n) return;  // the port is full: answers wait in the line
    line.pop_due(now, kBurst, [&](const Pending& p) {
      if (p.attempt > 0) {
        const uint64_t key = S::pair_key(p.probe.target, p.probe.tport, p.probe.sport);
        if (cancel[key & (kCancelSlots - 1)] == key) return void(++c.retransmit_cancelled);
      }
      if (p.fate == Fate::kSynAck && imp.retransmit && p.attempt < p.retries) {
        Pending next = p;
        ++next.attempt;
        schedule(now + (hz << p.attempt), next);
      }
      if (below(rng.next(), loss_out)) return void(++c.lost_out);
      rte_mbuf* m = rte_pktmbuf_alloc(pool);
      if (!m) return void(++c.no_buffer);
      set_length(m, build(p, rte_pktmbuf_mtod(m, uint8_t*), now));
      sent_counter(p.fate)++;
      if (p.attempt > 0) ++c.retransmissions;
      AnswerRecord r;
      S::record(r, p.probe.target);
      r.tsc = now;
      r.port = p.probe.tport;
      r.status = static_cast<uint8_t>(status_of(p.fate));
      r.proto = static_cast<uint8_t>(p.probe.proto == ip4::kProtoTcp   ? Proto::kTcp
                                     : p.probe.proto == ip4::kProtoUdp ? Proto::kUdp
                                                                       : Proto::kIcmp);
      queue_tx(m, &r);
    });
    flush_tx();
  }

  uint64_t& sent_counter(Fate f) {
    switch (f) {
      case Fate::kSynAck:
        return c.sent_synack;
      case Fate::kRst:
        return c.sent_rst;
      case Fate::kUdpReply:
        return c.sent_udp;
      case Fate::kEchoReply:
        return c.sent_echo;
      default:
        return c.sent_icmp;
    }
  }

  // Queues a frame for the port. Answers wait in the delay line while the port is full
  // (send_due takes no more); a frame that finds the queue full all the same (noise, ARP)
  // is not sent, and counted.
  void queue_tx(rte_mbuf* m, const AnswerRecord* s) {
    if (tx_first + tx_n == kTxSlots) {
      flush_tx();
      if (tx_first) compact_tx();
    }
    if (tx_n == kTxSlots) {
      rte_pktmbuf_free(m);
      ++c.not_sent;
      return;
    }
    tx[tx_first + tx_n] = m;
    rec[tx_first + tx_n] = s ? *s : kNotAnAnswer;
    ++tx_n;
    if (tx_n >= kBurst) flush_tx();
  }

  void compact_tx() {
    std::copy(tx + tx_first, tx + tx_first + tx_n, tx);
    std::copy(rec + tx_first, rec + tx_first + tx_n, rec);
    tx_first = 0;
  }

  // DPDK 22.11's memif PMD unmaps the peer's memory from its interrupt thread when the peer
  // leaves, while this lcore may be inside a burst on it (a SIGSEGV). It marks the link down
  // first, a few system calls before the unmap: with opt.watch_link every burst starts only
  // on a link seen up just before, which narrows the window but cannot close it. A scanner
  // that announces its departure (opt.quiesce) closes it: from its announcement until the
  // link was seen down, nothing is polled. Answers due meanwhile wait.
  bool link_up() {
    if (!opt.watch_link) return true;
    rte_eth_link l{};
    const bool up = rte_eth_link_get_nowait(port, &l) == 0 && l.link_status == RTE_ETH_LINK_UP;
    if (opt.quiesce) {
      if (!up) opt.quiesce->link_down();
      if (opt.quiesce->paused()) return false;
    }
    return up;
  }

  void flush_tx() {
    if (!tx_n || !link_up()) return;
    const uint16_t k = rte_eth_tx_burst(port, tx_queue, tx + tx_first,
                                        static_cast<uint16_t>(std::min<unsigned>(tx_n, 0xffff)));
    if (opt.answered)
      for (unsigned i = 0; i < k; ++i)
        if (rec[tx_first + i].status != kNotAnAnswer.status &&
            !opt.answered->ring().push(rec[tx_first + i]))
          ++c.answered_ring_full;
    tx_first += k;
    tx_n -= k;
    if (tx_n) {
      // Counted once per time the port stops taking frames (a gone peer would count every
      // round otherwise).
      if (k || !tx_stalled) ++c.tx_retries;
      tx_stalled = k == 0;
      if (tx_first) compact_tx();
    } else {
      tx_first = 0;
      tx_stalled = false;
    }
  }

  void send_noise(uint64_t now) {
    // No scanner seen yet, or its link is gone: nobody to send it to.
    if (!scanner_seen || !link_up()) return;
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (!m) return void(++c.no_buffer);
    // From the family's test range to the scanner, matching no probe (random sequence
    // numbers: a scanner's cookie check must refuse them).
    const uint64_t r1 = rng.next(), r2 = rng.next(), r3 = rng.next();
    const typename S::Echo e = S::noise(scanner_ip, r1, r2, r3);
    Pending p{e, scanner_mac, Fate::kSynAck, 1, 64, OptionProfile::kNone, 29200, 0, 0};
    const unsigned kind = static_cast<unsigned>(c.noise % 3);
    p.fate = kind == 0 ? Fate::kSynAck : kind == 1 ? Fate::kRst : Fate::kIcmp;
    set_length(m, build(p, rte_pktmbuf_mtod(m, uint8_t*), now));
    ++c.noise;
    queue_tx(m, nullptr);
  }

  void status_line(uint64_t now, bool final) {
    if (opt.status == StatusFormat::kNone) return;
    const double t = static_cast<double>(now - start) / static_cast<double>(hz);
    const double dt = static_cast<double>(now - last_status) / static_cast<double>(hz);
    const double rate = dt > 0 ? static_cast<double>(c.received - last_received) / dt : 0;
    if (opt.status == StatusFormat::kNdjson) {
      fmt::memory_buffer b;
      auto out = std::back_inserter(b);
      fmt::format_to(out, R"({{"elapsed":{:.3f},"rx_pps":{:.1f},"queued":{},"final":{})", t, rate,
                     line.size(), final);
      for (const auto& [name, field] : counter_fields())
        fmt::format_to(out, R"(,"{}":{})", name, c.*field);
      fmt::format_to(out, "}}\n");
      std::fwrite(b.data(), 1, b.size(), stderr);
    } else {
      std::fputs(
          fmt::format("dpscan-reflect: {:.0f} s | rx {:.0f} pps: probes {} rst {} udp {} echo {} "
                      "| sent synack {} rst {} icmp {} (retrans {}) udp {} echo {} | "
                      "queued {} | lost in {} out {} | suppressed {} host {} | noise {} | "
                      "full {} retries {}\n",
                      t, rate, c.probes, c.rst_received, c.udp_probes, c.echo_requests,
                      c.sent_synack, c.sent_rst, c.sent_icmp, c.retransmissions, c.sent_udp,
                      c.sent_echo, line.size(), c.lost_in, c.lost_out, c.suppressed,
                      c.host_suppressed, c.noise, c.queue_full, c.tx_retries)
              .c_str(),
          stderr);
    }
    std::fflush(stderr);
    last_status = now;
    last_received = c.received;
  }

  size_t queued() const override { return line.size() + tx_n; }

  void run(const std::atomic<int>& interrupts) override {
    rte_mbuf* pkts[32];
    uint64_t next_status = start + hz;
    uint64_t next_noise = start + noise_interval;
    const uint64_t end =
        opt.duration_s > 0 ? start + static_cast<uint64_t>(opt.duration_s * static_cast<double>(hz))
                           : 0;
    last_status = start;
    // Scripts wait for this line: from here on every frame that arrives is polled.
    log::info("answering");
    uint64_t last_rx = start;
    uint64_t next_quiesce = start;
    for (;;) {
      const uint64_t now = rte_rdtsc();
      if (opt.quiesce && now >= next_quiesce) {
        opt.quiesce->poll();
        next_quiesce = now + hz / 1000;
      }
      for (uint16_t q = 0; q < rx_queues && link_up(); ++q) {
        const uint16_t n = rte_eth_rx_burst(port, q, pkts, 32);
        c.received += n;
        for (uint16_t i = 0; i < n; ++i) handle(pkts[i], now);
        if (n) rte_pktmbuf_free_bulk(pkts, n);
        if (n) last_rx = now;
      }
      // With opt.watch_link (memif), after 100 ms without a frame the loop polls once a
      // millisecond: a scanner leaves when it has gone quiet, and a burst then overlaps the
      // memif PMD's unmap (see link_up) a thousand times less often. The delay line's slots
      // are a millisecond, so answers still leave on time.
      if (opt.watch_link && now - last_rx > hz / 10) rte_delay_us_sleep(1000);
      send_due(now);
      if (noise_interval && now >= next_noise) {
        send_noise(now);
        next_noise += noise_interval;
        if (now > next_noise + hz) next_noise = now;  // after a stall: no burst of noise
      }
      if (now >= next_status) {
        status_line(now, false);
        next_status += hz;
        if (interrupts.load(std::memory_order_relaxed)) break;
      }
      if (end && now >= end) break;
      if ((c.received & 0xff) == 0 && interrupts.load(std::memory_order_relaxed)) break;
    }
    flush_tx();
    stopped = rte_rdtsc();
    status_line(stopped, true);
  }

  const World& world;
  Impairments imp;
  uint64_t seed;
  uint16_t port;
  uint16_t rx_queues;
  uint16_t tx_queue;
  MacAddr mac;
  ReflectorOptions opt;
  DelayLine<Pending> line;
  RateLimiter limiter;           // per router: ICMP errors
  RateLimiter host_limiter;      // per host: ICMP port unreachable
  std::vector<uint64_t> cancel;  // direct-mapped: the connections an RST ended
  Rng rng;
  rte_mempool* pool = nullptr;
  uint64_t loss_in = 0, loss_out = 0, reorder = 0, duplicate = 0;
  uint64_t jitter_ticks = 0;
  uint64_t noise_interval = 0;
  double unix_base = 0;
  MacAddr scanner_mac;
  Addr scanner_ip;
  bool scanner_seen = false;
  uint64_t last_status = 0;
  uint64_t last_received = 0;
  static constexpr unsigned kTxSlots = 4 * kBurst;
  rte_mbuf* tx[kTxSlots];
  AnswerRecord rec[kTxSlots];  // what each queued frame answers (kNotAnAnswer: noise, ARP)
  static constexpr AnswerRecord kNotAnAnswer{0, 0, 0, 0, 0xff, 0, 0, {}};
  unsigned tx_first = 0;
  unsigned tx_n = 0;
  bool tx_stalled = false;
};

}  // namespace

Reflector::Reflector(const World& world, uint64_t seed, uint16_t port, uint16_t rx_queues,
                     uint16_t tx_queue, const MacAddr& mac, const ReflectorOptions& options) {
  if (world.family() == Family::kIpv6)
    impl_ = std::make_unique<ImplOf<Ipv6>>(world, seed, port, rx_queues, tx_queue, mac, options);
  else
    impl_ = std::make_unique<ImplOf<Ipv4>>(world, seed, port, rx_queues, tx_queue, mac, options);
}

Reflector::~Reflector() = default;

void Reflector::run(const std::atomic<int>& interrupts) {
  impl_->run(interrupts);
}

const Counters& Reflector::counters() const {
  return impl_->c;
}

size_t Reflector::queued() const {
  return impl_->queued();
}

double Reflector::seconds() const {
  return static_cast<double>(impl_->stopped - impl_->start) / static_cast<double>(impl_->hz);
}

}  // namespace dpscan::reflect
