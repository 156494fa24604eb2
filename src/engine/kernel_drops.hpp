// What the kernel drops under a driver that sits on a kernel interface, before dpscan can
// take the frames (docs/drivers.md, "What the kernel drops is counted"); DPDK 22.11 leaves
// these out of imissed:
//   - net_af_xdp: its AF_XDP sockets' full RX rings (XDP_STATISTICS rx_ring_full; the PMD
//     puts the socket's rx_dropped, an empty fill ring, in imissed already);
//   - net_af_packet: the interface's rx_dropped, and its sockets' full rings
//     (PACKET_STATISTICS tp_drops);
//   - net_tap: the tap's tx_dropped (frames the kernel could not queue to dpscan).
// Other drivers (a NIC's own PMD, even one that names a kernel interface) count nothing here.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

struct rte_eth_dev_info;

namespace dpscan {

class KernelDrops {
 public:
  // Finds the interface and this process's sockets on it; counts from now on.
  explicit KernelDrops(const rte_eth_dev_info& info);
  // The frames dropped since construction; thread-safe, never decreasing.
  uint64_t read() const;

 private:
  uint64_t read_locked() const;

  std::string counter_;  // /sys/class/net/IFACE/statistics/..., or empty
  uint64_t counter_base_ = 0;
  std::vector<int> packet_fds_;  // net_af_packet's sockets
  std::vector<int> xdp_fds_;     // net_af_xdp's sockets
  uint64_t xdp_base_ = 0;
  mutable std::mutex mu_;
  mutable uint64_t packet_drops_ = 0;  // PACKET_STATISTICS resets on reading: summed here
  mutable uint64_t last_ = 0;
};

}  // namespace dpscan
