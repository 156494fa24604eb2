#include "bench_responder.hpp"

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <sched.h>

#include <fmt/format.h>

#include "dpscan/bytes.hpp"
#include "dpscan/error.hpp"
#include "dpscan/probe.hpp"

namespace dpscan {
namespace {

constexpr unsigned kRingSize = 4096;
constexpr unsigned kBurst = 32;

// The SYN-ACK a Linux target would send for the probe in `p` (RFC 793: ack = seq + 1).
size_t answer(const uint8_t* p, uint8_t* out) {
  const uint8_t* ip = p + eth::kLen;
  const uint8_t* tcp = ip + ip4::kLen;
  const uint32_t seq = load_be32(tcp + tcp::kSeq);
  TcpSegment s;
  s.src_mac = MacAddr::from(p + eth::kDst);
  s.dst_mac = MacAddr::from(p + eth::kSrc);
  s.src = Ipv4Addr(load_be32(ip + ip4::kDst));
  s.dst = Ipv4Addr(load_be32(ip + ip4::kSrc));
  s.sport = load_be16(tcp + tcp::kDport);
  s.dport = load_be16(tcp + tcp::kSport);
  s.seq = seq ^ 0x5a5a5a5au;
  s.ack = seq + 1;
  s.flags = tcp::kSyn | tcp::kAck_;
  s.window = 64240;
  return build_tcp_frame(out, s);
}

bool is_syn(const rte_mbuf* m) {
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return rte_pktmbuf_data_len(m) >= eth::kLen + ip4::kLen + tcp::kLen &&
         load_be16(p + eth::kType) == eth::kTypeIpv4 &&
         p[eth::kLen + ip4::kProto] == ip4::kProtoTcp &&
         p[eth::kLen + ip4::kLen + tcp::kFlags] == tcp::kSyn;
}

}  // namespace

BenchResponder::BenchResponder(unsigned rx_queues, unsigned tx_queues) {
  const int socket = static_cast<int>(rte_socket_id());
  for (unsigned q = 0; q < tx_queues; ++q) {
    const std::string name = fmt::format("bench_tx{}", q);
    to_responder_.push_back(
        rte_ring_create(name.c_str(), kRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ));
  }
  for (unsigned q = 0; q < rx_queues; ++q) {
    const std::string name = fmt::format("bench_rx{}", q);
    from_responder_.push_back(
        rte_ring_create(name.c_str(), kRingSize, socket, RING_F_SP_ENQ | RING_F_SC_DEQ));
  }
  pool_ =
      rte_pktmbuf_pool_create("bench_answers", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  for (auto* r : to_responder_)
    if (!r) throw RuntimeError("--bench-responder: cannot create rings");
  for (auto* r : from_responder_)
    if (!r) throw RuntimeError("--bench-responder: cannot create rings");
  if (!pool_) throw RuntimeError("--bench-responder: cannot create its buffer pool");
  const int port =
      rte_eth_from_rings("net_bench_responder", from_responder_.data(), rx_queues,
                         to_responder_.data(), tx_queues, static_cast<unsigned>(socket));
  if (port < 0) throw RuntimeError("--bench-responder: cannot create the ring port");
  port_ = static_cast<uint16_t>(port);
}

BenchResponder::~BenchResponder() {
  for (auto* r : to_responder_) rte_ring_free(r);
  for (auto* r : from_responder_) rte_ring_free(r);
}

void BenchResponder::launch(unsigned lcore, const std::atomic<bool>& stop) {
  stop_ = &stop;  // the responder is always over-subscribed here: it yields when blocked
  if (rte_eal_remote_launch(main_loop, this, lcore) != 0)
    throw RuntimeError("cannot launch the responder lcore");
}

int BenchResponder::main_loop(void* arg) {
  auto& self = *static_cast<BenchResponder*>(arg);
  rte_mbuf* in[kBurst];
  rte_mbuf* out[kBurst];
  unsigned next_rx = 0;
  while (!self.stop_->load(std::memory_order_relaxed)) {
    bool idle = true;
    for (rte_ring* ring : self.to_responder_) {
      const unsigned n =
          rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void**>(in), kBurst, nullptr);
      if (n == 0) continue;
      idle = false;
      unsigned k = 0;
      for (unsigned i = 0; i < n; ++i) {
        if (!is_syn(in[i])) {
          self.stats_.ignored.add();
          continue;
        }
        rte_mbuf* m;
        while ((m = rte_pktmbuf_alloc(self.pool_)) == nullptr) sched_yield();  // RX frees them
        const size_t len =
            answer(rte_pktmbuf_mtod(in[i], const uint8_t*), rte_pktmbuf_mtod(m, uint8_t*));
        m->data_len = static_cast<uint16_t>(len);
        m->pkt_len = static_cast<uint32_t>(len);
        out[k++] = m;
      }
      rte_pktmbuf_free_bulk(in, n);
      rte_ring* rx = self.from_responder_[next_rx++ % self.from_responder_.size()];
      unsigned done = 0;
      while (done < k) {
        done +=
            rte_ring_sp_enqueue_burst(rx, reinterpret_cast<void**>(out + done), k - done, nullptr);
        if (done < k) {
          self.stats_.retries.add();
          if (self.stop_->load(std::memory_order_relaxed)) {
            rte_pktmbuf_free_bulk(out + done, k - done);
            break;
          }
          sched_yield();
        }
      }
      self.stats_.answered.add(done);
    }
    if (idle) sched_yield();
  }
  return 0;
}

}  // namespace dpscan
