#include "dpscan/summary.hpp"

#include <iterator>

#include <fmt/format.h>

#include "dpscan/ipv4.hpp"
#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "writer_base.hpp"

namespace dpscan {
namespace {

// "22,80,8000-8100": the sorted port list, runs collapsed.
std::string ports_text(const std::vector<uint16_t>& ports) {
  std::string s;
  for (size_t i = 0; i < ports.size();) {
    size_t j = i;
    while (j + 1 < ports.size() && ports[j + 1] == ports[j] + 1) ++j;
    s += (s.empty() ? "" : ",") +
         (j == i ? fmt::format("{}", ports[i]) : fmt::format("{}-{}", ports[i], ports[j]));
    i = j + 1;
  }
  return s;
}

}  // namespace

uint64_t RunSummary::dropped_total() const {
  uint64_t n = result_ring_full + control_ring_full + rx_missed + rx_errors + rx_nombuf;
  for (size_t i = 0; i < kDropCount; ++i)
    if (static_cast<Drop>(i) != Drop::kDuplicate) n += dropped[i];
  return n;
}

std::string describe_plan(const ScanPlan& p, uint64_t seed) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "{{\"name\": \"{}\", \"targets\": [", json_escape(p.name));
  const char* sep = "";
  for (const auto& iv : p.addresses.intervals()) {
    fmt::format_to(out, "{}\"{}-{}\"", sep, format_ipv4(iv.first), format_ipv4(iv.last));
    sep = ", ";
  }
  fmt::format_to(out, "], \"addresses\": {}, \"ports\": \"{}\", \"seed\": {}, \"rate_pps\": {}, ",
                 p.addresses.size(), ports_text(p.ports), seed, p.rate_pps);
  fmt::format_to(out,
                 "\"shard\": \"{}/{}\", \"retries\": {}, \"tx_lcores\": {}, \"rx_lcores\": {}, ",
                 p.shard_index + 1, p.shard_count, p.retries, p.tx_lcores, p.rx_lcores);
  fmt::format_to(out, "\"probe_options\": \"{}\", \"dry_run\": {}, \"outputs\": [",
                 to_string(p.probe_options), p.dry_run);
  sep = "";
  for (const auto& o : p.outputs) {
    fmt::format_to(out, "{}{{\"format\": \"{}\", \"path\": \"{}\"}}", sep, to_string(o.format),
                   json_escape(o.path));
    sep = ", ";
  }
  fmt::format_to(out, "]}}");
  return fmt::to_string(b);
}

std::string summary_json(const RunSummary& s) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "{{\n");
  if (!s.scan_name.empty()) fmt::format_to(out, "  \"scan\": \"{}\",\n", json_escape(s.scan_name));
  if (!s.plan.empty()) fmt::format_to(out, "  \"plan\": {},\n", s.plan);
  fmt::format_to(out, "  \"seed\": {},\n", s.seed);
  if (!s.cookie.empty()) fmt::format_to(out, "  \"cookie\": \"{}\",\n", s.cookie);
  fmt::format_to(out, "  \"dry_run\": {},\n", s.dry_run);
  fmt::format_to(out, "  \"interrupted\": {},\n", s.interrupted);
  fmt::format_to(out, "  \"start_time\": {:.6f},\n  \"end_time\": {:.6f},\n", s.start_time,
                 s.end_time);
  fmt::format_to(out, "  \"addresses\": {},\n  \"ports\": {},\n  \"probes\": {},\n", s.addresses,
                 s.ports, s.probes);
  fmt::format_to(out, "  \"rate_asked_pps\": {},\n", s.rate_asked);
  fmt::format_to(out, "  \"sent\": {},\n  \"tx_retries\": {},\n", s.sent, s.tx_retries);
  fmt::format_to(out, "  \"tx_alloc_waits\": {},\n  \"tx_pacing_stalls\": {},\n", s.tx_alloc_waits,
                 s.tx_pacing_stalls);
  fmt::format_to(out, "  \"control_sent\": {},\n", s.control_sent);
  fmt::format_to(out, "  \"send_duration_s\": {:.6f},\n  \"send_rate_pps\": {:.1f},\n",
                 s.send_duration_s, s.send_rate());
  fmt::format_to(out, "  \"received\": {},\n", s.received);
  for (size_t i = 0; i < kStatusCount; ++i)
    fmt::format_to(out, "  \"{}\": {},\n", status_name(static_cast<Status>(i)), s.by_status[i]);
  fmt::format_to(out, "  \"duplicates\": {},\n  \"dedup\": \"{}\",\n", s.duplicates, s.dedup_mode);
  fmt::format_to(out, "  \"arp_replies\": {},\n  \"rst_sent\": {},\n", s.arp_replies, s.rst_sent);
  fmt::format_to(out, "  \"rx_vlan_tagged\": {},\n  \"rx_ip_options\": {},\n", s.rx_vlan_tagged,
                 s.rx_ip_options);
  if (!s.device.driver.empty()) {
    auto names = [](const std::vector<std::string>& v) {
      std::string r;
      for (const auto& n : v) r += fmt::format("{}\"{}\"", r.empty() ? "" : ", ", json_escape(n));
      return r;
    };
    fmt::format_to(out, "  \"rx_checksum\": \"{}\",\n", s.rx_checksum);
    fmt::format_to(out, "  \"rx_csum_partial\": {},\n  \"rx_csum_device\": {},\n",
                   s.rx_csum_partial, s.rx_csum_device);
    fmt::format_to(out,
                   "  \"device\": {{\"name\": \"{}\", \"driver\": \"{}\", \"rx_queues\": {}, "
                   "\"tx_queues\": {}, \"rx_offloads\": [{}], \"tx_offloads\": [{}]}},\n",
                   json_escape(s.device.name), json_escape(s.device.driver), s.device.rx_queues,
                   s.device.tx_queues, names(s.device.rx_offloads), names(s.device.tx_offloads));
  }
  if (s.bench_answered) fmt::format_to(out, "  \"bench_answered\": {},\n", s.bench_answered);
  fmt::format_to(out, "  \"dropped_total\": {},\n", s.dropped_total());
  fmt::format_to(out, "  \"dropped\": {{");
  const char* sep = "\n";
  for (size_t i = 0; i < kDropCount; ++i) {
    if (static_cast<Drop>(i) == Drop::kDuplicate) continue;
    fmt::format_to(out, "{}    \"{}\": {}", sep, drop_name(static_cast<Drop>(i)), s.dropped[i]);
    sep = ",\n";
  }
  fmt::format_to(out, ",\n    \"result_ring_full\": {},\n    \"control_ring_full\": {},\n",
                 s.result_ring_full, s.control_ring_full);
  fmt::format_to(
      out, "    \"rx_missed\": {},\n    \"rx_errors\": {},\n    \"rx_nombuf\": {}\n  }}\n}}\n",
      s.rx_missed, s.rx_errors, s.rx_nombuf);
  return fmt::to_string(b);
}

void write_summary_file(const RunSummary& s, const std::string& path) {
  OutputFile f(path);
  const std::string json = summary_json(s);
  f.write(json.data(), json.size());
  f.close();
}

}  // namespace dpscan
