// One DPDK port with its RX and TX queues and mempools. The TX pool is created
// after the gateway is known, pre-filled with the probe template (docs/design.md, decision 5):
// the per-probe path then writes only the fields that change.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dpscan/addr.hpp"
#include "dpscan/summary.hpp"

struct rte_mempool;

namespace dpscan {

class KernelDrops;

struct DeviceStats {
  uint64_t imissed = 0;
  uint64_t ierrors = 0;
  uint64_t rx_nombuf = 0;
  // A driver over a kernel interface (net_af_xdp, net_af_packet, net_tap): the frames the
  // kernel dropped on their way to dpscan since the port started (kernel_drops.hpp).
  uint64_t iface_dropped = 0;
};

class Device {
 public:
  // Configures and starts the port with one TX queue per TX lcore (plus one for control
  // frames where the device has it); throws RuntimeError.
  Device(uint16_t port_id, const std::string& name, uint16_t rx_queues, uint16_t probe_queues);
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  uint16_t port() const { return port_; }
  const MacAddr& mac() const { return mac_; }
  rte_mempool* control_pool() const { return ctrl_pool_; }
  uint16_t rx_queues() const { return rx_queues_; }
  uint16_t tx_queues() const { return tx_queues_; }
  uint16_t control_queue() const { return control_queue_; }  // == 0 when shared with probes
  bool control_queue_shared() const { return control_queue_ < probe_queues_; }
  unsigned fast_free_queues() const { return fast_free_queues_; }
  rte_mempool* tx_pool(uint16_t queue) const { return tx_pools_.at(queue); }
  // Creates one TX pool per TX queue with every mbuf holding the template (a probe frame).
  void create_tx_pools(std::span<const uint8_t> tmpl);
  // Rewrites the template into every mbuf of the TX pools (between scans: none is in use).
  void refill_tx_pools(std::span<const uint8_t> tmpl);
  // Multicast groups this port must receive (IPv6 neighbour discovery): put on the device's
  // filter, or all multicast where it has no filter list. Promiscuous mode (on where the
  // device has it) takes them too; a real NIC without it needs this.
  void listen_multicast(const std::vector<MacAddr>& groups);
  DeviceStats stats() const;
  const DeviceInfo& info() const { return info_; }
  bool rx_checksum_offload() const { return rx_csum_offload_; }
  void stop();

 private:
  uint16_t port_;
  std::string name_;
  MacAddr mac_;
  int socket_ = 0;
  bool started_ = false;
  rte_mempool* rx_pool_ = nullptr;
  rte_mempool* ctrl_pool_ = nullptr;
  std::vector<rte_mempool*> tx_pools_;
  uint16_t rx_queues_ = 1;
  uint16_t probe_queues_ = 1;
  uint16_t tx_queues_ = 1;
  uint16_t control_queue_ = 0;
  unsigned fast_free_queues_ = 0;
  DeviceInfo info_;
  bool rx_csum_offload_ = false;
  std::unique_ptr<KernelDrops> kernel_drops_;
};

}  // namespace dpscan
