// The end-of-run summary: the --summary JSON file and the closing status lines.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dpscan/classify.hpp"

namespace dpscan {

// What the port runs with, for the start-up log and the summary.
struct DeviceInfo {
  std::string name;  // the DPDK port name (net_af_packet0, 0000:01:00.0)
  std::string driver;
  uint16_t rx_queues = 0;
  uint16_t tx_queues = 0;
  std::vector<std::string> rx_offloads;  // DPDK's names, e.g. IPV4_CKSUM
  std::vector<std::string> tx_offloads;  // on the probe queues
};

struct RunSummary {
  uint64_t seed = 0;
  std::string scan_name;
  std::string plan;    // a JSON object describing the plan (describe_plan)
  std::string cookie;  // the PRF of the probe cookies (scans only)
  uint64_t addresses = 0;
  uint64_t ports = 0;
  uint64_t probes = 0;  // planned
  double rate_asked = 0;
  double start_time = 0;  // Unix seconds
  double end_time = 0;
  bool interrupted = false;
  bool dry_run = false;

  uint64_t sent = 0;
  uint64_t tx_retries = 0;
  uint64_t tx_alloc_waits = 0;  // bursts that waited for buffers the device had not freed yet
  // Times the pacing fell behind by over 100 ms (CPU taken away, a slow device) and forgave
  // the rest of the lag instead of catching it all up (catch-up runs at most at 2x the rate).
  uint64_t tx_pacing_stalls = 0;
  uint64_t control_sent = 0;  // ARP replies and RSTs sent
  double send_duration_s = 0;

  uint64_t received = 0;
  std::array<uint64_t, kStatusCount> by_status{};
  uint64_t duplicates = 0;
  std::string dedup_mode;
  std::array<uint64_t, kDropCount> dropped{};  // by classification reason
  uint64_t result_ring_full = 0;
  uint64_t control_ring_full = 0;
  uint64_t rx_missed = 0;  // device imissed
  uint64_t rx_errors = 0;  // device ierrors
  uint64_t rx_nombuf = 0;
  uint64_t arp_replies = 0;
  uint64_t rst_sent = 0;
  uint64_t rx_vlan_tagged = 0;
  uint64_t rx_ip_options = 0;
  uint64_t rx_csum_partial = 0;  // answers accepted with a partial / unfilled TCP checksum
  uint64_t rx_csum_device = 0;   // answers whose TCP checksum the device checked
  std::string rx_checksum;       // --rx-checksum
  DeviceInfo device;             // scans only (driver empty for a dry run)
  uint64_t bench_answered = 0;   // --bench-responder: SYN-ACKs the responder sent

  double send_rate() const {
    return send_duration_s > 0 ? static_cast<double>(sent) / send_duration_s : 0;
  }
  uint64_t dropped_total() const;
};

std::string summary_json(const RunSummary& s);
// The plan as a JSON object: targets, ports, seed, rate, shard, retries, outputs.
std::string describe_plan(const struct ScanPlan& plan, uint64_t seed);
void write_summary_file(const RunSummary& s, const std::string& path);

}  // namespace dpscan
