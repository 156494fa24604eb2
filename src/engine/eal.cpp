#include "eal.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <regex>

#include <fmt/format.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"

#ifdef DPSCAN_HAVE_LIBXDP
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#endif

namespace dpscan {
namespace {

#ifdef DPSCAN_HAVE_LIBXDP
// net_af_xdp's libraries print to standard error on their own ("libxdp: No bpffs found",
// "libbpf: elf: skipping unrecognized data section"), even with -q. Their lines go where
// DPDK's own log goes: captured during start-up (shown with -v or to explain a failure),
// and afterwards only with -v.
bool g_xdp_log_verbose = false;

int xdp_log(const char* format, va_list args) {
  std::FILE* stream = rte_log_get_stream();
  if (stream == stderr && !g_xdp_log_verbose) return 0;
  return std::vfprintf(stream, format, args);
}
int libbpf_log(libbpf_print_level, const char* format, va_list args) {
  return xdp_log(format, args);
}
int libxdp_log(libxdp_print_level, const char* format, va_list args) {
  return xdp_log(format, args);
}

void route_xdp_logs(int verbosity) {
  g_xdp_log_verbose = verbosity >= 1;
  libbpf_set_print(libbpf_log);
  libxdp_set_print(libxdp_log);
}
#else
void route_xdp_logs(int) {}
#endif

bool is_pci_address(const std::string& dev) {
  static const std::regex pci(R"(^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7](,.*)?$)");
  return std::regex_match(dev, pci);
}

// The port name DPDK registers for the device: the vdev name before the first comma, or the
// full PCI address.
std::string port_name_of(const std::string& dev) {
  std::string name = dev.substr(0, dev.find(','));
  if (is_pci_address(dev) && std::count(name.begin(), name.end(), ':') == 1) name = "0000:" + name;
  return name;
}

bool user_gave(const std::vector<std::string>& args, std::initializer_list<const char*> names) {
  for (const auto& a : args)
    for (const char* n : names) {
      const std::string opt(n);
      if (a == opt || a.rfind(opt + "=", 0) == 0) return true;
      if (opt.size() == 2 && a.rfind(opt, 0) == 0) return true;  // -l0-2
    }
  return false;
}

std::vector<unsigned> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<unsigned> cpus;
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    for (unsigned c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

// The line of DPDK's captured start-up log that best explains a failure: the first error
// line that names the device (the cause; later lines are consequences such as "Bus (vdev)
// probe failed"), else the first error line, else the last line.
std::string explain_failure(const std::string& log, const std::string& device_name) {
  static const char* const kErrorWords[] = {"rror",   "failed",  "annot",
                                            "nvalid", "No such", "not found"};
  std::string named, first_error, last;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t end = log.find('\n', pos);
    if (end == std::string::npos) end = log.size();
    const std::string line = log.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    last = line;
    bool error = false;
    for (const char* w : kErrorWords) error = error || line.find(w) != std::string::npos;
    if (!error) continue;
    if (first_error.empty()) first_error = line;
    if (named.empty() && !device_name.empty() && line.find(device_name) != std::string::npos)
      named = line;
  }
  return !named.empty() ? named : !first_error.empty() ? first_error : last;
}

bool is_af_packet(const std::string& dev) {
  return dev.rfind("net_af_packet", 0) == 0 || dev.rfind("eth_af_packet", 0) == 0;
}

bool is_memif(const std::string& dev) {
  return dev.rfind("net_memif", 0) == 0;
}

// Devices whose peer maps this process's memory (vhost-user behind net_virtio_user): the
// memory must be hugepage files it can share, so no --no-huge.
bool shares_memory(const std::string& dev) {
  return dev.rfind("net_virtio_user", 0) == 0 || dev.rfind("virtio_user", 0) == 0;
}

// AF_PACKET devices have as many queue pairs as their qpairs argument, and every RX queue
// (a socket in one fanout group) takes a share of the traffic, so each must be polled.
uint16_t af_packet_qpairs(const EalRequest& r) {
  return static_cast<uint16_t>(std::max(r.tx_lcores + 1, r.rx_lcores));  // + control queue
}

// AF_PACKET's default ring of 512 frames is ~10 ms of answers at 50 kpps: a short stall of
// the RX lcore loses answers inside the kernel, where no DPDK counter sees them. dpscan asks
// for 8192 frames (16 MiB of kernel memory per queue) unless the device string says otherwise.
std::string vdev_with_queues(const EalRequest& r) {
  std::string dev = r.device;
  if (is_af_packet(dev)) {
    if (dev.find("qpairs=") == std::string::npos)
      dev += fmt::format(",qpairs={}", af_packet_qpairs(r));
    if (dev.find("framecnt=") == std::string::npos) dev += ",framecnt=8192";
  }
  return dev;
}

}  // namespace

std::vector<std::string> build_eal_args(const EalRequest& r, const std::vector<unsigned>& cpus) {
  const auto& user = r.eal_args;
  std::vector<std::string> args{r.program};
  const bool pinned = !r.tx_cpus.empty() || !r.rx_cpus.empty();
  if (pinned && user_gave(user, {"-l", "--lcores", "-c"}))
    throw UsageError(
        "--tx-cpus/--rx-cpus and -l/--lcores/-c in --eal-args both place the lcores; "
        "give one of them");
  for (const auto* list : {&r.tx_cpus, &r.rx_cpus}) {
    for (unsigned c : *list) {
      if (std::find(cpus.begin(), cpus.end(), c) == cpus.end())
        throw UsageError(fmt::format("--{}-cpus: CPU {} is not one this process may run on ({})",
                                     list == &r.tx_cpus ? "tx" : "rx", c, fmt::join(cpus, ",")));
    }
  }
  for (unsigned c : r.tx_cpus) {
    if (std::find(r.rx_cpus.begin(), r.rx_cpus.end(), c) != r.rx_cpus.end())
      log::info(
          "CPU {} runs a TX and an RX lcore (--tx-cpus, --rx-cpus): both poll, so they share it",
          c);
  }
  if (!user_gave(user, {"-l", "--lcores", "-c"})) {
    // Main lcore, then the TX lcores, then the RX lcores, round-robin over the CPUs we may
    // use, unless --tx-cpus/--rx-cpus name them. With two CPUs and one TX lcore, TX gets a
    // CPU to itself: on a veth the kernel does the target's work inside our transmit call.
    // With a single lcore (--lcores 1) there is only the main one: on the TX CPU if named.
    const unsigned main_cpu = r.single_lcore && !r.tx_cpus.empty() ? r.tx_cpus[0] : cpus[0];
    std::string map = fmt::format("--lcores=0@{}", main_cpu);
    const unsigned workers = r.single_lcore ? 0 : r.tx_lcores + r.rx_lcores + r.extra_lcores;
    for (unsigned i = 1; i <= workers; ++i) {
      unsigned cpu = cpus[i % cpus.size()];
      if (i <= r.tx_lcores) {  // TX lcore i - 1
        if (!r.tx_cpus.empty()) cpu = r.tx_cpus[i - 1];
      } else if (i <= r.tx_lcores + r.rx_lcores) {  // RX lcore i - 1 - tx_lcores
        if (!r.rx_cpus.empty()) cpu = r.rx_cpus[i - 1 - r.tx_lcores];
      }
      map += fmt::format(",{}@{}", i, cpu);
    }
    args.push_back(map);
  }
  if (!user_gave(user, {"--file-prefix"}))
    args.push_back(fmt::format("--file-prefix={}-{}", r.program, getpid()));
  if (is_pci_address(r.device)) {
    if (!user_gave(user, {"-a", "--allow", "-b", "--block"})) args.push_back("-a" + r.device);
  } else {
    if (!user_gave(user, {"--no-huge", "--socket-mem", "-m"})) {
      if (shares_memory(r.device)) {
        // vhost-user maps our memory: hugepage files, one per segment list.
        args.push_back("-m512");
        args.push_back("--single-file-segments");
      } else {
        args.push_back("--no-huge");
        args.push_back("-m256");
      }
    }
    if (!user_gave(user, {"--no-pci", "-a", "--allow"})) args.push_back("--no-pci");
    // net_memif needs DPDK's multi-process channel for its shared memory (it refuses
    // --no-shconf); the per-process --file-prefix keeps two processes apart.
    if (!user_gave(user, {"--no-shconf", "--in-memory"}) && !is_memif(r.device))
      args.push_back("--no-shconf");
    if (!r.no_device) args.push_back("--vdev=" + vdev_with_queues(r));
  }
  args.insert(args.end(), user.begin(), user.end());
  return args;
}

Eal::Eal(const EalRequest& r) {
  std::vector<std::string> args = build_eal_args(r, allowed_cpus());
  owns_runtime_dir_ = !user_gave(r.eal_args, {"--file-prefix"});
  prefix_ = fmt::format("{}-{}", r.program, getpid());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  log::verbose("EAL arguments: {}", fmt::join(args, " "));

  // Capture DPDK's start-up chatter; show it only with -v or to explain a failure.
  char* log_buf = nullptr;
  size_t log_len = 0;
  std::FILE* capture = r.verbosity >= 1 ? nullptr : open_memstream(&log_buf, &log_len);
  if (capture) rte_openlog_stream(capture);
  route_xdp_logs(r.verbosity);
  const int rc = rte_eal_init(static_cast<int>(args.size()), argv.data());
  const int err = rte_errno;
  std::string captured;
  if (capture) {
    std::fclose(capture);
    captured.assign(log_buf ? log_buf : "", log_len);
    std::free(log_buf);
    rte_openlog_stream(stderr);
    rte_log_set_global_level(RTE_LOG_WARNING);
  }
  if (rc < 0) {
    if (owns_runtime_dir_) {  // a failed rte_eal_init may have created it already
      std::error_code ec;
      std::filesystem::remove_all(fmt::format("/var/run/dpdk/{}", prefix_), ec);
    }
    throw RuntimeError(fmt::format("DPDK initialisation failed ({}): {}", rte_strerror(err),
                                   explain_failure(captured, port_name_of(r.device))));
  }
  layout_.port_name = port_name_of(r.device);
  if (!r.no_device &&
      rte_eth_dev_get_port_by_name(layout_.port_name.c_str(), &layout_.port_id) != 0) {
    const std::string detail = explain_failure(captured, layout_.port_name);
    shutdown();
    throw RuntimeError(fmt::format("device '{}' was not found or failed to probe{}{}", r.device,
                                   detail.empty() ? "" : ": ", detail));
  }
  std::vector<unsigned> workers;
  for (unsigned lcore = rte_get_next_lcore(~0u, 1, 0); lcore < RTE_MAX_LCORE;
       lcore = rte_get_next_lcore(lcore, 1, 0)) {
    workers.push_back(lcore);
  }
  const unsigned needed = r.single_lcore ? 0 : r.tx_lcores + r.rx_lcores + r.extra_lcores;
  if (workers.size() < needed) {
    shutdown();
    throw RuntimeError(
        fmt::format("{} needs {} worker lcores besides the main one ({} TX, {} RX), EAL has {}; "
                    "check -l/--lcores in --eal-args",
                    r.program, needed, r.tx_lcores, r.rx_lcores, workers.size()));
  }
  layout_.single_lcore = r.single_lcore;
  if (!r.single_lcore) {
    layout_.tx_lcores.assign(workers.begin(), workers.begin() + r.tx_lcores);
    layout_.rx_lcores.assign(workers.begin() + r.tx_lcores,
                             workers.begin() + r.tx_lcores + r.rx_lcores);
    if (r.extra_lcores) layout_.responder_lcore = workers[r.tx_lcores + r.rx_lcores];
  }
  layout_.tx_queues = static_cast<uint16_t>(r.tx_lcores);
  layout_.rx_queues = static_cast<uint16_t>(r.rx_lcores);
  if (is_af_packet(r.device)) {
    const size_t at = r.device.find("qpairs=");
    const auto qpairs = at == std::string::npos
                            ? af_packet_qpairs(r)
                            : static_cast<uint16_t>(std::atoi(r.device.c_str() + at + 7));
    layout_.rx_queues = std::max(layout_.rx_queues, qpairs);
  }
}

Eal::~Eal() {
  shutdown();
}

// DPDK leaves its runtime directory (/var/run/dpdk/<file-prefix>) behind; remove it when it
// is the per-process one dpscan chose, so repeated runs and tests leave nothing.
void Eal::shutdown() {
  const std::string dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  if (owns_runtime_dir_ && dir.find(prefix_) != std::string::npos) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
}

}  // namespace dpscan
