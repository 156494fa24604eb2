// DPDK start-up and shut-down. dpscan builds the EAL command line itself so that a user
// needs no EAL knowledge for the common cases: a virtual device runs without hugepages
// (--no-huge --no-shconf --no-pci -m), every process gets its own --file-prefix, and the
// lcores (main, TX, RX) are mapped onto the CPUs the process may use. --eal-args adds to
// (and, for the options it names, replaces) what dpscan would pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dpscan/plan.hpp"

namespace dpscan {

struct EalLayout {
  uint16_t port_id = 0;
  std::string port_name;
  std::vector<unsigned> tx_lcores;
  std::vector<unsigned> rx_lcores;
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  unsigned responder_lcore = 0;  // --bench-responder only
};

// The argument vector dpscan would pass to rte_eal_init (exposed for tests).
std::vector<std::string> build_eal_args(const ScanPlan& plan, const std::vector<unsigned>& cpus);

class Eal {
 public:
  explicit Eal(const ScanPlan& plan);  // throws RuntimeError with the reason
  ~Eal();
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;
  const EalLayout& layout() const { return layout_; }

 private:
  void shutdown();  // rte_eal_cleanup() and removal of our runtime directory
  EalLayout layout_;
  bool owns_runtime_dir_ = false;
};

}  // namespace dpscan
