#include "kernel_drops.hpp"

#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <string_view>

#include <fmt/format.h>
#include <rte_ethdev.h>

namespace dpscan {
namespace {

uint64_t read_counter(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  in >> v;
  return in ? v : 0;
}

// This process's AF_PACKET sockets bound to interface `index` (net_af_packet's, one per
// queue: the PMD opens them at probe time and keeps them to the end).
std::vector<int> packet_sockets(int index) {
  std::vector<int> fds;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(e.path().filename().string());
    } catch (const std::exception&) {
      continue;
    }
    int domain = 0;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_PACKET) continue;
    sockaddr_ll addr{};
    len = sizeof addr;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0 && addr.sll_ifindex == index)
      fds.push_back(fd);
  }
  return fds;
}

}  // namespace

KernelDrops::KernelDrops(const rte_eth_dev_info& info) {
  char name[IF_NAMESIZE] = {};
  if (info.if_index == 0 || if_indextoname(info.if_index, name) == nullptr) return;
  const std::string_view driver(info.driver_name ? info.driver_name : "");
  counter_ = fmt::format("/sys/class/net/{}/statistics/{}", name,
                         driver == "net_tap" ? "tx_dropped" : "rx_dropped");
  counter_base_ = read_counter(counter_);
  if (driver == "net_af_packet") {
    packet_fds_ = packet_sockets(static_cast<int>(info.if_index));
    read();  // from now on
    std::lock_guard<std::mutex> lock(mu_);
    packet_drops_ = 0;
  }
}

uint64_t KernelDrops::read() const {
  if (counter_.empty()) return 0;
  const uint64_t now = read_counter(counter_);
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : packet_fds_) {
    tpacket_stats st{};
    socklen_t len = sizeof st;
    if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) == 0) packet_drops_ += st.tp_drops;
  }
  return (now > counter_base_ ? now - counter_base_ : 0) + packet_drops_;
}

}  // namespace dpscan
