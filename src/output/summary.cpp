#include "dpscan/summary.hpp"

#include <iterator>

#include <fmt/format.h>

#include "dpscan/addr.hpp"
#include "dpscan/ipv6_targets.hpp"
#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/ports.hpp"
#include "dpscan/text.hpp"
#include "encoder_base.hpp"

namespace dpscan {

std::string describe_plan(const ScanPlan& p, uint64_t seed) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "{{\"name\": \"{}\", \"family\": \"{}\", \"module\": \"{}\", \"targets\": [",
                 json_escape(p.name), family_name(p.family), to_string(p.probe));
  const char* sep = "";
  const auto range = [&](const auto& first, const auto& last) {
    fmt::format_to(out, "{}\"{}-{}\"", sep, first.to_string(), last.to_string());
    sep = ", ";
  };
  if (p.family == Family::kIpv4) {
    for (const auto& iv : p.addresses.intervals()) range(iv.first, iv.last);
  } else {
    for (const auto& iv : p.targets6->intervals.intervals()) range(iv.first, iv.last);
    for (const auto& g : p.targets6->generators) {
      fmt::format_to(out, "{}\"{}\"", sep, json_escape(g.text));
      sep = ", ";
    }
    if (p.targets6->hitlist)
      fmt::format_to(out, "{}\"hitlist of {} addresses\"", sep, p.targets6->hitlist->size());
  }
  fmt::format_to(out, "], \"addresses\": {}, \"ports\": \"{}\", \"seed\": {}, \"rate_pps\": {}, ",
                 p.family == Family::kIpv4 ? p.addresses.size() : p.requested_addresses,
                 ports_text(p.ports), seed, p.rate_pps);
  fmt::format_to(out,
                 "\"shard\": \"{}/{}\", \"retries\": {}, \"tx_lcores\": {}, \"rx_lcores\": {}, ",
                 p.shard_index + 1, p.shard_count, p.retries, p.tx_lcores, p.rx_lcores);
  fmt::format_to(out, "\"probe_options\": \"{}\", \"dry_run\": {}, \"outputs\": [",
                 to_string(p.probe_options), p.dry_run);
  sep = "";
  for (const auto& o : p.outputs) {
    fmt::format_to(out, "{}{{\"format\": \"{}\", \"path\": \"{}\"}}", sep, to_string(o.format),
                   json_escape(mask_url_credentials(o.path)));  // nats://USER:***@HOST
    sep = ", ";
  }
  fmt::format_to(out, "]}}");
  return fmt::to_string(b);
}

std::string summary_json(const RunSummary& s) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  const auto& table = counter_table();
  // The counters of one group, as "name": value lines (from the one counter table).
  auto counters = [&](CounterGroup group, const char* indent, const char*& sep) {
    for (size_t i = 0; i < table.size(); ++i) {
      if (table[i].group != group) continue;
      fmt::format_to(out, "{}{}\"{}\": {}", sep, indent, table[i].name, s.counters[i]);
      sep = ",\n";
    }
  };
  fmt::format_to(out, "{{\n");
  if (!s.scan_name.empty()) fmt::format_to(out, "  \"scan\": \"{}\",\n", json_escape(s.scan_name));
  if (!s.plan.empty()) fmt::format_to(out, "  \"plan\": {},\n", s.plan);
  fmt::format_to(out, "  \"seed\": {},\n", s.seed);
  if (!s.cookie.empty()) fmt::format_to(out, "  \"cookie\": \"{}\",\n", s.cookie);
  fmt::format_to(out, "  \"dry_run\": {},\n", s.dry_run);
  fmt::format_to(out, "  \"interrupted\": {},\n", s.interrupted);
  fmt::format_to(out, "  \"start_time\": {:.6f},\n  \"end_time\": {:.6f},\n", s.start_time,
                 s.end_time);
  fmt::format_to(out,
                 "  \"addresses\": {},\n  \"ports\": {},\n  \"probe_slots\": {},\n  "
                 "\"probes\": {},\n",
                 s.addresses, s.ports, s.probe_slots, s.probes);
  fmt::format_to(out, "  \"rate_asked_pps\": {},\n", s.rate_asked);
  const char* sep = "";
  counters(CounterGroup::kSend, "  ", sep);
  fmt::format_to(out, ",\n  \"send_duration_s\": {:.6f},\n  \"send_rate_pps\": {:.1f},\n",
                 s.send_duration_s, s.send_rate());
  sep = "";
  counters(CounterGroup::kReceive, "  ", sep);
  counters(CounterGroup::kStatus, "  ", sep);
  fmt::format_to(out, ",\n");
  if (!s.dedup_mode.empty()) fmt::format_to(out, "  \"dedup\": \"{}\",\n", s.dedup_mode);
  if (s.bench_answered) fmt::format_to(out, "  \"bench_answered\": {},\n", s.bench_answered);
  if (!s.sinks.empty()) {  // sinks that store in the background: JetStream's batches, spool
    fmt::format_to(out, "  \"outputs\": [");
    for (size_t i = 0; i < s.sinks.size(); ++i)
      fmt::format_to(out, "{}{{{}}}", i ? ", " : "", s.sinks[i]);
    fmt::format_to(out, "],\n");
  }
  if (!s.cluster.empty()) fmt::format_to(out, "  \"cluster\": {{{}}},\n", s.cluster);
  if (!s.device.driver.empty()) {
    auto names = [](const std::vector<std::string>& v) {
      std::string r;
      for (const auto& n : v) r += fmt::format("{}\"{}\"", r.empty() ? "" : ", ", json_escape(n));
      return r;
    };
    fmt::format_to(out, "  \"rx_checksum\": \"{}\",\n", s.rx_checksum);
    fmt::format_to(out,
                   "  \"device\": {{\"name\": \"{}\", \"driver\": \"{}\", \"rx_queues\": {}, "
                   "\"tx_queues\": {}, \"rx_offloads\": [{}], \"tx_offloads\": [{}]}},\n",
                   json_escape(s.device.name), json_escape(s.device.driver), s.device.rx_queues,
                   s.device.tx_queues, names(s.device.rx_offloads), names(s.device.tx_offloads));
  }
  fmt::format_to(out, "  \"dropped_total\": {},\n  \"dropped\": {{\n", s.dropped_total());
  sep = "";
  counters(CounterGroup::kDrop, "    ", sep);
  fmt::format_to(out, "\n  }}\n}}\n");
  return fmt::to_string(b);
}

void write_summary_file(const RunSummary& s, const std::string& path) {
  FileSink f(path, false, true);  // 0600: the plan and the outputs are the owner's business
  f.write(summary_json(s));
  f.close();
}

}  // namespace dpscan
