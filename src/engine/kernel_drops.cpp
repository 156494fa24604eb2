#include "kernel_drops.hpp"

#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string_view>

#include <fmt/format.h>
#include <rte_ethdev.h>

#include "dpscan/log.hpp"

#ifndef AF_XDP
#define AF_XDP 44
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

namespace dpscan {
namespace {

uint64_t read_counter(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  in >> v;
  return in ? v : 0;
}

// This process's sockets of `family` bound to interface `index` (the PMD opens them at probe
// time and keeps them until the port stops). AF_XDP sockets cannot tell their interface
// (getsockname fails on them): with net_af_xdp they are the PMD's, as dpscan opens none.
std::vector<int> sockets_of(int family, int index) {
  std::vector<int> fds;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    int fd = -1;
    try {
      fd = std::stoi(it->path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != family) continue;
    if (family == AF_PACKET) {
      sockaddr_ll addr{};
      len = sizeof addr;
      if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
          addr.sll_ifindex != index)
        continue;
    }
    fds.push_back(fd);
  }
  return fds;
}

uint64_t xdp_ring_full(const std::vector<int>& fds) {
  uint64_t sum = 0;
  for (int fd : fds) {
    xdp_statistics st{};
    socklen_t len = sizeof st;
    // rx_ring_full is there from Linux 5.9 on (a shorter answer leaves it out).
    if (getsockopt(fd, SOL_XDP, XDP_STATISTICS, &st, &len) == 0 &&
        len >= offsetof(xdp_statistics, rx_ring_full) + sizeof st.rx_ring_full)
      sum += st.rx_ring_full;
  }
  return sum;
}

// The packet sockets' ring drops since the last call (PACKET_STATISTICS resets on reading).
uint64_t packet_ring_drops(const std::vector<int>& fds) {
  uint64_t sum = 0;
  for (int fd : fds) {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) sum += st.tp_drops;
  }
  return sum;
}

}  // namespace

KernelDrops::KernelDrops(const rte_eth_dev_info& info) {
  const std::string_view driver(info.driver_name ? info.driver_name : "");
  const bool xdp = driver == "net_af_xdp", packet = driver == "net_af_packet",
             tap = driver == "net_tap";
  char name[IF_NAMESIZE] = {};
  if (!(xdp || packet || tap) || info.if_index == 0 ||
      if_indextoname(info.if_index, name) == nullptr)
    return;
  if (xdp) {
    xdp_fds_ = sockets_of(AF_XDP, 0);
    xdp_base_ = xdp_ring_full(xdp_fds_);
    return;
  }
  // /sys shows the interfaces of the namespace it was mounted in (ip netns exec remounts
  // it; nsenter does not): count only an interface that is this one.
  const std::string dir = fmt::format("/sys/class/net/{}", name);
  if (read_counter(dir + "/ifindex") != info.if_index) {
    log::info("{}: {} in /sys is not this namespace's interface; its drops are not counted", driver,
              name);
    return;
  }
  counter_ = dir + (tap ? "/statistics/tx_dropped" : "/statistics/rx_dropped");
  counter_base_ = read_counter(counter_);
  if (packet) {
    packet_fds_ = sockets_of(AF_PACKET, static_cast<int>(info.if_index));
    packet_ring_drops(packet_fds_);  // counted from now on
  }
}

uint64_t KernelDrops::read_locked() const {
  uint64_t v = 0;
  if (!counter_.empty()) {
    const uint64_t now = read_counter(counter_);
    v += now > counter_base_ ? now - counter_base_ : 0;
  }
  packet_drops_ += packet_ring_drops(packet_fds_);
  v += packet_drops_;
  if (!xdp_fds_.empty()) {
    const uint64_t now = xdp_ring_full(xdp_fds_);
    v += now > xdp_base_ ? now - xdp_base_ : 0;
  }
  return v;
}

uint64_t KernelDrops::read() const {
  std::lock_guard<std::mutex> lock(mu_);
  last_ = std::max(last_, read_locked());
  return last_;
}

}  // namespace dpscan
