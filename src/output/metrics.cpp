#include "dpscan/metrics.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <iterator>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/text.hpp"

namespace dpscan {
namespace {

// A label value in the exposition format: backslash, double quote and newline escaped.
std::string label_value(std::string_view v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\')
      out += "\\\\";
    else if (ch == '"')
      out += "\\\"";
    else if (ch == '\n')
      out += "\\n";
    else
      out += ch;
  }
  return out;
}

// The metric name and the extra label of a table entry.
std::pair<std::string, std::string> metric_of(const CounterDef& d) {
  switch (d.group) {
    case CounterGroup::kStatus:
      return {"dpscan_results_total", fmt::format("status=\"{}\"", d.name)};
    case CounterGroup::kDrop:
      return {"dpscan_dropped_total", fmt::format("reason=\"{}\"", d.name)};
    default:
      if (d.name == "sent") return {"dpscan_probes_sent_total", ""};
      if (d.name == "received") return {"dpscan_frames_received_total", ""};
      return {fmt::format("dpscan_{}_total", d.name), ""};
  }
}

}  // namespace

std::string prometheus_text(const CounterValues& c, const std::vector<LcoreCounters>& lcores,
                            const MetricLabels& l, const MetricGauges& g) {
  const std::string base = fmt::format("scan=\"{}\",shard=\"{}/{}\"", label_value(l.scan),
                                       l.shard_index + 1, l.shard_count);
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  const auto& table = counter_table();
  // Each family once (HELP and TYPE), then its samples: statuses and drops share a family.
  std::string last_family;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto [name, extra] = metric_of(table[i]);
    if (name != last_family) {
      const std::string help =
          table[i].group == CounterGroup::kStatus ? "results reported, by status"
          : table[i].group == CounterGroup::kDrop ? "frames or results dropped, by reason"
                                                  : table[i].help;
      fmt::format_to(out, "# HELP {} {}\n# TYPE {} counter\n", name, help, name);
      last_family = name;
    }
    const bool per_lcore = table[i].home != CounterHome::kDevice && !lcores.empty();
    if (!per_lcore) {
      fmt::format_to(out, "{}{{{}{}{}}} {}\n", name, base, extra.empty() ? "" : ",", extra, c[i]);
      continue;
    }
    for (const auto& lc : lcores)
      if (lc.home == table[i].home)
        fmt::format_to(out, "{}{{{},lcore=\"{}\"{}{}}} {}\n", name, base, label_value(lc.lcore),
                       extra.empty() ? "" : ",", extra, lc.values[i]);
  }
  auto gauge = [&](std::string_view name, std::string_view help, auto value) {
    fmt::format_to(out, "# HELP {} {}\n# TYPE {} gauge\n{}{{{}}} {}\n", name, help, name, name,
                   base, value);
  };
  gauge("dpscan_probes_planned", "probes this run sends at most", g.planned);
  gauge("dpscan_send_rate_pps", "probes sent per second over the last status interval",
        g.send_rate_pps);
  gauge("dpscan_elapsed_seconds", "seconds since sending began", g.elapsed_s);
  gauge("dpscan_sending_done", "1 once every probe of the run has been sent",
        g.sending_done ? 1 : 0);
  auto counter = [&](std::string_view name, std::string_view help, uint64_t value) {
    fmt::format_to(out, "# HELP {} {}\n# TYPE {} counter\n{}{{{}}} {}\n", name, help, name, name,
                   base, value);
  };
  counter("dpscan_metrics_refused_total",
          "connections to /metrics refused with 503: too many at once", g.metrics_refused);
  counter("dpscan_metrics_timed_out_total",
          "connections to /metrics closed unanswered or unfinished at their 2 s deadline",
          g.metrics_timed_out);
  return fmt::to_string(b);
}

ListenAddress parse_listen_address(const std::string& spec) {
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos)
    throw UsageError(fmt::format("--metrics-listen '{}': expected ADDR:PORT (e.g. 127.0.0.1:9100)",
                                 printable(spec)));
  const std::string host = spec.substr(0, colon), port = spec.substr(colon + 1);
  ListenAddress a;
  if (!host.empty() && host != "*" && host != "0.0.0.0") {
    in_addr in{};
    if (inet_pton(AF_INET, host.c_str(), &in) != 1)
      throw UsageError(fmt::format("--metrics-listen '{}': '{}' is not an IPv4 address",
                                   printable(spec), printable(host)));
    a.addr = ntohl(in.s_addr);
  }
  unsigned p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p > 65535)
    throw UsageError(fmt::format("--metrics-listen '{}': '{}' is not a port (0-65535)",
                                 printable(spec), printable(port)));
  a.port = static_cast<uint16_t>(p);
  return a;
}

}  // namespace dpscan
