// The validated, immutable description of one scan (docs/design.md, "ScanPlan"). The command
// line (and later campaign files) produce it; the engine only reads it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dpscan/family.hpp"
#include "dpscan/ip_addr.hpp"
#include "dpscan/ip_set.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/sources.hpp"
#include "dpscan/udp_payload.hpp"

namespace dpscan {

enum class OutputFormat : uint8_t { kCsv, kNdjson, kList, kXml };
OutputFormat parse_output_format(const std::string& name);  // throws UsageError
std::string_view to_string(OutputFormat f);
RxChecksum parse_rx_checksum(const std::string& name);  // throws UsageError
std::string_view to_string(RxChecksum m);

struct OutputSpec {
  OutputFormat format = OutputFormat::kCsv;
  std::string path = "-";  // "-" is standard output
  // nats: path is nats://HOST:PORT/SUBJECT, ndjson batches to a JetStream stream
  // (src/output/nats_sink.cpp) with `nats_replicas` copies, if the sink creates it.
  bool nats = false;
  int nats_replicas = 1;
  bool nats_wait = false;  // at the end, wait for the server as long as it takes (a cluster
                           // shard is done only once its results are in the stream)
  std::string nats_creds;  // --nats-creds
  std::string nats_ca;     // --nats-ca
  // --resume: a file output is appended to (a continued run's results follow the first
  // run's; no second header), never truncated.
  bool append = false;
};

enum class StatusFormat : uint8_t { kText, kNdjson, kNone };

// The probe module a scan sends (src/probe/modules.hpp; --probe-module).
enum class ProbeKind : uint8_t { kTcpSyn, kUdp, kIcmpEcho };
std::string_view to_string(ProbeKind k);
ProbeKind parse_probe_kind(std::string_view name);  // throws UsageError

struct Ipv6TargetSources;  // ipv6_targets.hpp: intervals, generators, hitlist, exclusions

// A scan's plan, split by concern: each part is filled by the step of build_plan named after
// it (src/cli/plan_builder.cpp: plan_targets, plan_order, plan_probe, plan_device,
// plan_outputs) and read by the code of that concern. ScanPlan joins them for the run.

// What to scan: one family per scan (plan_targets).
struct TargetPlan {
  Family family = Family::kIpv4;
  IpSet addresses;                                    // IPv4: targets minus exclusions
  std::shared_ptr<const Ipv6TargetSources> targets6;  // IPv6 (shared: a hitlist is not copied)
  uint64_t requested_addresses = 0;  // before exclusions, for the user's information
  std::vector<uint16_t> ports;
};

// The order, this process's share of it, its lcores and its limits; resume (plan_order).
struct OrderPlan {
  uint64_t seed = 0;
  bool seed_given = false;
  uint32_t shard_index = 0;  // 0-based; --shard I/N is 1-based
  uint32_t shard_count = 1;
  uint32_t retries = 0;  // extra probes per target
  uint32_t tx_lcores = 1;
  uint32_t rx_lcores = 1;
  bool single_lcore = false;      // --lcores 1: one lcore sends, receives and writes, in turns
  std::vector<unsigned> tx_cpus;  // --tx-cpus/--rx-cpus: the CPU of each lcore (empty: spread)
  std::vector<unsigned> rx_cpus;
  std::optional<uint64_t> max_targets;  // cap on targets this process probes
  std::optional<double> max_targets_percent;
  double max_runtime_s = 0;  // 0: no limit
  std::string checkpoint_path;
  std::string resume_path;
  std::string resume_text;  // a checkpoint's text (checkpoint_text) kept elsewhere: a cluster's
                            // bucket; resume_path then names it in messages
  double checkpoint_interval_s = 5;
};

// What the probes are, how fast they go, how answers are taken (plan_probe).
struct ProbePlan {
  ProbeKind probe = ProbeKind::kTcpSyn;
  double rate_pps = 10000;  // 0: as fast as the device takes them
  OptionProfile probe_options = OptionProfile::kWindows;
  uint8_t ttl = 64;
  uint16_t window = 65535;
  uint16_t sport_first = 32768;
  uint32_t sport_count = 32768;
  bool send_rst = true;
  CookieAlgo cookie_algo = CookieAlgo::kSipHash;  // set from --cookie (default auto)
  RxChecksum rx_checksum = RxChecksum::kAuto;
  std::vector<udp::Payload> udp_payloads;  // udp: the payload of each probe slot, by port
  bool udp_any_sport = false;              // --udp-any-sport
  double cooldown_s = 8;
};

// The device and the link: our addresses and the gateway, of the scan's family
// (plan_device).
struct DevicePlan {
  std::string device;
  std::vector<std::string> eal_args;
  SourceAddresses sources;    // IPv4 scans
  SourceAddresses6 sources6;  // IPv6 scans
  std::optional<Ipv4Addr> gateway_ip;
  std::optional<Ipv6Addr> gateway_ip6;
  std::optional<MacAddr> gateway_mac;
  bool bench_responder = false;  // benchmark the RX path against an in-process responder
};

// What to keep and where (plan_outputs).
struct OutputPlan {
  std::string name = "scan";            // campaign scan name ("scan" on the command line)
  std::vector<OutputSpec> outputs;      // -o/--output-format first, then each --output-spec
  std::vector<std::string> csv_fields;  // --output-fields
  StatusFormat status_format = StatusFormat::kText;
  std::string command_line;                                          // for the xml output
  std::array<bool, kStatusCount> report{true, false, false, false};  // by Status (--report)
  uint16_t udp_response_bytes = 0;  // --udp-response-bytes: answer bytes kept per result
  std::string summary_path;
  std::string metrics_listen;  // --metrics-listen ADDR:PORT, empty: none
  std::string nats_creds;      // --nats-creds FILE, for every NATS connection
  std::string nats_ca;         // --nats-ca FILE
  uint64_t dedup_memory = uint64_t{1} << 30;
};

struct ScanPlan : TargetPlan, OrderPlan, ProbePlan, DevicePlan, OutputPlan {
  bool dry_run = false;
  int verbosity = 0;  // -1 quiet, 0 normal, 1+ verbose (DPDK's own log)
};

// The probe slots of the index space (target_space.hpp): the port of each (TCP: the ports;
// UDP: each port once per payload sent to it; ICMP echo: one slot, port 0).
std::vector<uint16_t> probe_slots(const ScanPlan& plan);
// What each slot sends, for the outputs (UDP: the payload's name; others: none).
std::vector<std::string> probe_slot_names(const ScanPlan& plan);
// A hash of the module's settings that fix what its probes carry (UDP: the payloads), for
// the checkpoint's plan identity.
uint64_t probe_identity(const ScanPlan& plan);
// The family's source addresses and gateway of a plan.
inline const SourceAddresses& sources_of(Ipv4Addr, const DevicePlan& p) {
  return p.sources;
}
inline const SourceAddresses6& sources_of(Ipv6Addr, const DevicePlan& p) {
  return p.sources6;
}
inline const std::optional<Ipv4Addr>& gateway_of(Ipv4Addr, const DevicePlan& p) {
  return p.gateway_ip;
}
inline const std::optional<Ipv6Addr>& gateway_of(Ipv6Addr, const DevicePlan& p) {
  return p.gateway_ip6;
}

// Parses the command line (campaign.hpp: command_line_options, then plan_from_options).
// Returns nullopt after --help or --version (already printed). Throws UsageError for
// anything malformed or contradictory.
std::optional<ScanPlan> parse_command_line(int argc, const char* const* argv);

}  // namespace dpscan
