// One DPDK port with one RX and one TX queue, and its mempools. The TX pool is created
// after the gateway is known, pre-filled with the probe template (DESIGN.md, decision 5):
// the per-probe path then writes only the fields that change.
#pragma once

#include <cstdint>
#include <string>

#include "dpscan/probe.hpp"

struct rte_mempool;

namespace dpscan {

struct DeviceStats {
  uint64_t imissed = 0;
  uint64_t ierrors = 0;
  uint64_t rx_nombuf = 0;
};

class Device {
 public:
  Device(uint16_t port_id, const std::string& name);  // configures and starts; throws RuntimeError
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  uint16_t port() const { return port_; }
  const uint8_t* mac() const { return mac_; }
  rte_mempool* control_pool() const { return ctrl_pool_; }
  rte_mempool* tx_pool() const { return tx_pool_; }
  // Creates the TX pool with every mbuf holding the template.
  void create_tx_pool(const ProbeTemplate& tmpl);
  DeviceStats stats() const;
  void stop();

 private:
  uint16_t port_;
  std::string name_;
  uint8_t mac_[6]{};
  int socket_ = 0;
  bool started_ = false;
  rte_mempool* rx_pool_ = nullptr;
  rte_mempool* ctrl_pool_ = nullptr;
  rte_mempool* tx_pool_ = nullptr;
};

}  // namespace dpscan
