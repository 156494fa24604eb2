#include "device.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "kernel_drops.hpp"
#include "memif_quiesce.hpp"

namespace dpscan {
namespace {

constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;
constexpr unsigned kRxPoolSize = 8191;
constexpr unsigned kTxPoolSize = 8191;
constexpr unsigned kCtrlPoolSize = 2047;
constexpr unsigned kPoolCache = 256;

void check(int rc, const std::string& what) {
  if (rc < 0) throw RuntimeError(fmt::format("{} failed: {}", what, rte_strerror(-rc)));
}

void fill_template(rte_mempool*, void* arg, void* obj, unsigned) {
  const auto* tmpl = static_cast<const std::span<const uint8_t>*>(arg);
  auto* m = static_cast<rte_mbuf*>(obj);
  std::memcpy(static_cast<uint8_t*>(m->buf_addr) + RTE_PKTMBUF_HEADROOM, tmpl->data(),
              tmpl->size());
  // The TX lcore takes these mbufs with rte_mempool_get_bulk, without rte_pktmbuf_reset: set
  // once here, the offset and lengths stay as they are (every probe has the same length,
  // nothing on the TX path changes them, and freeing only resets next/nb_segs).
  m->data_off = RTE_PKTMBUF_HEADROOM;
  m->data_len = static_cast<uint16_t>(tmpl->size());
  m->pkt_len = static_cast<uint32_t>(tmpl->size());
}

}  // namespace

Device::Device(uint16_t port_id, const std::string& name, uint16_t rx_queues, uint16_t probe_queues)
    : port_(port_id), name_(name), rx_queues_(rx_queues), probe_queues_(probe_queues) {
  const int s = rte_eth_dev_socket_id(port_);
  socket_ = s < 0 ? 0 : s;
  rte_eth_dev_info info{};
  check(rte_eth_dev_info_get(port_, &info),
        fmt::format("device {}: reading its capabilities", name_));

  rx_pool_ = rte_pktmbuf_pool_create("dpscan_rx", kRxPoolSize, kPoolCache, 0,
                                     RTE_MBUF_DEFAULT_BUF_SIZE, socket_);
  ctrl_pool_ = rte_pktmbuf_pool_create("dpscan_ctrl", kCtrlPoolSize, 64, 0,
                                       RTE_MBUF_DEFAULT_BUF_SIZE, socket_);
  if (!rx_pool_ || !ctrl_pool_) {
    throw RuntimeError(
        fmt::format("cannot create packet buffer pools: {} (increase -m in --eal-args?)",
                    rte_strerror(rte_errno)));
  }

  if (rx_queues_ > info.max_rx_queues || probe_queues_ > info.max_tx_queues) {
    throw RuntimeError(
        fmt::format("device {} has at most {} RX and {} TX queues; {} and {} were asked", name_,
                    info.max_rx_queues, info.max_tx_queues, rx_queues_, probe_queues_));
  }
  // ARP replies and RSTs leave on a TX queue of their own where the device has one more, so
  // that every probe queue holds mbufs of one pool only and can use MBUF_FAST_FREE
  // (docs/design.md, decision 5); otherwise they share probe queue 0, which then may not.
  tx_queues_ = probe_queues_;
  control_queue_ = 0;
  if (info.max_tx_queues > probe_queues_) control_queue_ = tx_queues_++;
  // net_tap refuses unequal queue counts (each queue is one file descriptor of a
  // multi-queue tap, used both ways), net_memif's peer must have as many RX rings as this
  // side has TX rings ("Invalid ring index" otherwise), and net_vhost (the vhost-user side of
  // a virtio-user peer) receives on the queue pair the peer sent on: give them as many RX
  // queues as TX queues. The peer spreads frames over them, and every one is polled.
  const std::string_view driver(info.driver_name ? info.driver_name : "");
  if ((driver == "net_tap" || driver == "net_memif" || driver == "net_vhost") &&
      rx_queues_ < tx_queues_) {
    if (tx_queues_ > info.max_rx_queues) control_queue_ = 0, tx_queues_ = probe_queues_;
    rx_queues_ = std::max(rx_queues_, tx_queues_);
  }
  const bool fast_free = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) != 0;
  rte_eth_conf conf{};
  // RX checksum offloads where the device has them (docs/design.md, decision 11): the RX lcores
  // then skip what the device checked and drop what it found bad.
  conf.rxmode.offloads =
      info.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM);
  if (rx_queues_ > 1) {
    // Spread answers over the RX queues by their IPv4/TCP header, where the device can.
    const uint64_t want = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP;
    if (info.flow_type_rss_offloads & want) {
      conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
      conf.rx_adv_conf.rss_conf.rss_hf = info.flow_type_rss_offloads & want;
    }
  }
  check(rte_eth_dev_configure(port_, rx_queues_, tx_queues_, &conf),
        fmt::format("device {}: configure", name_));
  uint16_t rxd = kRxDesc, txd = kTxDesc;
  check(rte_eth_dev_adjust_nb_rx_tx_desc(port_, &rxd, &txd),
        fmt::format("device {}: descriptor counts", name_));
  for (uint16_t q = 0; q < rx_queues_; ++q) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = conf.rxmode.offloads;
    check(rte_eth_rx_queue_setup(port_, q, rxd, static_cast<unsigned>(socket_), &rxconf, rx_pool_),
          fmt::format("device {}: RX queue {} set-up", name_, q));
  }
  for (uint16_t q = 0; q < tx_queues_; ++q) {
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = 0;
    if (fast_free && q < probe_queues_ && q != control_queue_) {
      txconf.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
      fast_free_queues_++;
    }
    check(rte_eth_tx_queue_setup(port_, q, txd, static_cast<unsigned>(socket_), &txconf),
          fmt::format("device {}: TX queue {} set-up", name_, q));
  }
  check(rte_eth_dev_start(port_), fmt::format("device {}: start", name_));
  // After the queues are set up: net_af_xdp opens its sockets there.
  kernel_drops_ = std::make_unique<KernelDrops>(info);
  info_.driver = info.driver_name ? info.driver_name : "?";
  info_.rx_queues = rx_queues_;
  info_.tx_queues = tx_queues_;
  // rte_eth_dev_configure refuses offloads the device does not have, so these are in force.
  const uint64_t rx_offloads = conf.rxmode.offloads;
  for (uint64_t bit = 1; bit; bit <<= 1) {
    if (rx_offloads & bit) info_.rx_offloads.emplace_back(rte_eth_dev_rx_offload_name(bit));
  }
  if (fast_free_queues_)
    info_.tx_offloads.emplace_back(rte_eth_dev_tx_offload_name(RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE));
  rx_csum_offload_ =
      (rx_offloads & (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM)) != 0;
  started_ = true;
  // Answers are addressed to our MAC, but some virtual devices filter nothing anyway; the
  // classifier checks the IP destination, so promiscuous mode costs nothing in correctness.
  rte_eth_promiscuous_enable(port_);
  rte_ether_addr addr{};
  check(rte_eth_macaddr_get(port_, &addr),
        fmt::format("device {}: reading its MAC address", name_));
  mac_ = MacAddr::from(addr.addr_bytes);
}

void Device::create_tx_pools(std::span<const uint8_t> tmpl) {
  for (uint16_t q = 0; q < probe_queues_; ++q) {
    const std::string name = fmt::format("dpscan_tx{}", q);
    rte_mempool* pool = rte_pktmbuf_pool_create(name.c_str(), kTxPoolSize, kPoolCache, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, socket_);
    if (!pool)
      throw RuntimeError(
          fmt::format("cannot create the TX buffer pool: {}", rte_strerror(rte_errno)));
    rte_mempool_obj_iter(pool, fill_template, &tmpl);
    tx_pools_.push_back(pool);
  }
}

void Device::refill_tx_pools(std::span<const uint8_t> tmpl) {
  for (rte_mempool* pool : tx_pools_) rte_mempool_obj_iter(pool, fill_template, &tmpl);
}

void Device::listen_multicast(const std::vector<MacAddr>& groups) {
  std::vector<rte_ether_addr> list(groups.size());
  for (size_t i = 0; i < groups.size(); ++i) std::memcpy(list[i].addr_bytes, groups[i].data(), 6);
  const int rc =
      rte_eth_dev_set_mc_addr_list(port_, list.data(), static_cast<uint32_t>(list.size()));
  if (rc != 0 && rte_eth_allmulticast_enable(port_) != 0 && rte_eth_promiscuous_get(port_) != 1) {
    log::info(
        "device {} can neither filter nor take all multicast: neighbour solicitations "
        "may not arrive",
        name_);
  }
}

DeviceStats Device::stats() const {
  rte_eth_stats st{};
  DeviceStats d;
  if (rte_eth_stats_get(port_, &st) == 0) {
    d.imissed = st.imissed;
    d.ierrors = st.ierrors;
    d.rx_nombuf = st.rx_nombuf;
  }
  if (kernel_drops_) d.iface_dropped = kernel_drops_->read();
  return d;
}

void Device::stop() {
  if (!started_) return;
  started_ = false;
  // net_memif handles its peer's disconnect in DPDK's interrupt thread, which frees the
  // shared memory; closing the port while that runs frees it twice (a crash seen when the
  // peer left at the moment this process stopped). A peer that is gone or going has taken
  // the link down first: give its disconnect time to finish before closing.
  if (info_.driver == "net_memif") {
    // The peer's lcore must not be inside a burst when it unmaps (memif_quiesce.hpp): this
    // process polls the port no more, so it says it leaves and waits for the peer to stop.
    if (announce_departure(name_, 2000) == Departure::kTimedOut)
      log::warn("the memif peer did not confirm that it stopped polling (2 s): closing anyway");
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_, &link) == 0 && link.link_status == RTE_ETH_LINK_DOWN)
      rte_delay_us_sleep(300 * 1000);
  }
  rte_eth_dev_stop(port_);
  rte_eth_dev_close(port_);
}

Device::~Device() {
  stop();
  // Mempools are released with the EAL (rte_eal_cleanup).
}

}  // namespace dpscan
