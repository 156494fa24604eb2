// DPDK start-up and shut-down. dpscan builds the EAL command line itself so that a user
// needs no EAL knowledge for the common cases: a virtual device runs without hugepages
// (--no-huge --no-shconf --no-pci -m), every process gets its own --file-prefix, and the
// lcores (main, TX, RX) are mapped onto the CPUs the process may use. --eal-args adds to
// (and, for the options it names, replaces) what dpscan would pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dpscan {

// What a program asks of EAL: its device, its lcores and the user's EAL arguments. dpscan
// makes one from its plan (dataplane.cpp), dpscan-reflect from its options.
struct EalRequest {
  std::string program = "dpscan";  // argv[0], and the stem of the per-process --file-prefix
  std::string device;              // a PCI address or a vdev string; none with no_device
  bool no_device = false;          // --bench-responder: the ports are made in the process
  std::vector<std::string> eal_args;
  uint32_t tx_lcores = 1;  // worker lcores: TX, then RX, then `extra` (the bench responder)
  uint32_t rx_lcores = 1;
  uint32_t extra_lcores = 0;
  bool single_lcore = false;      // --lcores 1: no worker lcores, the main lcore does it all
  std::vector<unsigned> tx_cpus;  // --tx-cpus / --rx-cpus (empty: spread)
  std::vector<unsigned> rx_cpus;
  int verbosity = 0;
};

struct EalLayout {
  uint16_t port_id = 0;
  std::string port_name;
  std::vector<unsigned> tx_lcores;
  std::vector<unsigned> rx_lcores;
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 1;
  unsigned responder_lcore = 0;  // --bench-responder only
  bool single_lcore = false;     // no worker lcores
};

// The argument vector dpscan would pass to rte_eal_init (exposed for tests).
std::vector<std::string> build_eal_args(const EalRequest& r, const std::vector<unsigned>& cpus);

class Eal {
 public:
  explicit Eal(const EalRequest& r);  // throws RuntimeError with the reason
  ~Eal();
  Eal(const Eal&) = delete;
  Eal& operator=(const Eal&) = delete;
  const EalLayout& layout() const { return layout_; }

 private:
  void shutdown();  // rte_eal_cleanup() and removal of our runtime directory
  EalLayout layout_;
  std::string prefix_;
  bool owns_runtime_dir_ = false;
};

}  // namespace dpscan
