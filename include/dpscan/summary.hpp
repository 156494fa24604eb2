// The end-of-run summary: the --summary JSON file and the closing status lines.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "dpscan/counters.hpp"

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
  uint64_t ports = 0;        // distinct ports
  uint64_t probe_slots = 0;  // probes per address: ports, or (UDP) port x payload pairs
  uint64_t probes = 0;       // planned
  double rate_asked = 0;
  double start_time = 0;  // Unix seconds
  double end_time = 0;
  bool interrupted = false;
  bool dry_run = false;
  double send_duration_s = 0;
  std::string dedup_mode;
  std::string rx_checksum;         // --rx-checksum (scans only)
  DeviceInfo device;               // scans only (driver empty for a dry run)
  CounterValues counters;          // every counter of counter_table(), at the end of the run
  uint64_t bench_answered = 0;     // --bench-responder: SYN-ACKs the responder sent
  std::vector<std::string> sinks;  // Outputs::reports(): JSON members per reporting sink
  std::string cluster;             // JSON members: bucket, shard, owner (a cluster worker's)

  uint64_t sent() const { return counters.get(TxCounter::kSent); }
  double send_rate() const {
    return send_duration_s > 0 ? static_cast<double>(sent()) / send_duration_s : 0;
  }
  uint64_t dropped_total() const { return counters.dropped_total(); }
};

std::string summary_json(const RunSummary& s);
// The plan as a JSON object: targets, ports, seed, rate, shard, retries, outputs.
std::string describe_plan(const struct ScanPlan& plan, uint64_t seed);
void write_summary_file(const RunSummary& s, const std::string& path);

}  // namespace dpscan
