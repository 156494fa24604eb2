// What the kernel drops under a driver that sits on a kernel interface, before dpscan can
// take the frames (docs/architecture.md, "Counters"): DPDK 22.11's net_af_xdp and
// net_af_packet do not count these in imissed.
//   - net_af_xdp, net_af_packet: the interface's rx_dropped (a veth counts a full AF_XDP
//     ring, or a redirect that failed, there);
//   - net_af_packet: also its sockets' ring drops (PACKET_STATISTICS tp_drops);
//   - net_tap: the tap's tx_dropped (frames the kernel could not queue to dpscan).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

struct rte_eth_dev_info;

namespace dpscan {

class KernelDrops {
 public:
  // Finds the interface (and, for net_af_packet, this process's packet sockets); counts
  // from now on. Without a kernel interface, read() is always 0.
  explicit KernelDrops(const rte_eth_dev_info& info);
  // The frames dropped since construction; thread-safe.
  uint64_t read() const;

 private:
  std::string counter_;  // /sys/class/net/IFACE/statistics/..., or empty
  uint64_t counter_base_ = 0;
  std::vector<int> packet_fds_;
  mutable std::mutex mu_;
  mutable uint64_t packet_drops_ = 0;  // PACKET_STATISTICS resets on reading: summed here
};

}  // namespace dpscan
