#include "dpscan/summary.hpp"

#include <iterator>

#include <fmt/format.h>

#include "dpscan/output.hpp"

namespace dpscan {

uint64_t RunSummary::dropped_total() const {
  uint64_t n = result_ring_full + control_ring_full + rx_missed + rx_errors + rx_nombuf;
  for (size_t i = 0; i < kDropCount; ++i)
    if (static_cast<Drop>(i) != Drop::kDuplicate) n += dropped[i];
  return n;
}

std::string summary_json(const RunSummary& s) {
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  fmt::format_to(out, "{{\n");
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
  fmt::format_to(out, "  \"send_duration_s\": {:.6f},\n  \"send_rate_pps\": {:.1f},\n",
                 s.send_duration_s, s.send_rate());
  fmt::format_to(out, "  \"received\": {},\n", s.received);
  for (size_t i = 0; i < kStatusCount; ++i)
    fmt::format_to(out, "  \"{}\": {},\n", status_name(static_cast<Status>(i)), s.by_status[i]);
  fmt::format_to(out, "  \"duplicates\": {},\n  \"dedup\": \"{}\",\n", s.duplicates, s.dedup_mode);
  fmt::format_to(out, "  \"arp_replies\": {},\n  \"rst_sent\": {},\n", s.arp_replies, s.rst_sent);
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
