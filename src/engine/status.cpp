#include "status.hpp"

#include <unistd.h>

#include <cstdio>
#include <iterator>
#include <utility>

#include <fmt/format.h>

namespace dpscan {
namespace {

std::string duration_text(double s) {
  if (s < 0) return "-";
  const auto t = static_cast<uint64_t>(s + 0.5);
  return fmt::format("{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
}

}  // namespace

std::string rate_text(double pps) {
  if (pps >= 1e6) return fmt::format("{:.2f} Mpps", pps / 1e6);
  if (pps >= 1e3) return fmt::format("{:.1f} kpps", pps / 1e3);
  return fmt::format("{:.0f} pps", pps);
}

StatusPrinter::StatusPrinter(StatusFormat format, uint64_t wire_bytes_per_probe)
    : format_(format), tty_(::isatty(STDERR_FILENO) == 1), wire_bytes_(wire_bytes_per_probe) {}

void StatusPrinter::print(const StatusSample& s) {
  if (format_ == StatusFormat::kNone) return;
  const CounterValues& c = s.counters;
  const auto& table = counter_table();
  const uint64_t sent = c.get(TxCounter::kSent);
  const uint64_t open = c.get(Status::kOpen);
  const double pct =
      s.planned ? 100.0 * static_cast<double>(sent) / static_cast<double>(s.planned) : 100.0;
  const double gbps = s.rate_pps * static_cast<double>(wire_bytes_) * 8 / 1e9;
  const double hit = sent ? 100.0 * static_cast<double>(open) / static_cast<double>(sent) : 0;
  const double eta = s.cooldown ? s.cooldown_left_s
                     : s.rate_pps > 0
                         ? static_cast<double>(s.planned - std::min(sent, s.planned)) / s.rate_pps
                         : -1;
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  if (format_ == StatusFormat::kNdjson) {
    fmt::format_to(out,
                   R"({{"elapsed":{:.3f},"percent":{:.3f},"eta":{},"sent":{},"rate_pps":{:.1f},)"
                   R"("gbps":{:.4f},"received":{},)",
                   s.elapsed_s, pct, eta < 0 ? std::string("null") : fmt::format("{:.1f}", eta),
                   sent, s.rate_pps, gbps, c.get(RxCounter::kReceived));
    for (size_t i = 0; i < table.size(); ++i)
      if (table[i].group == CounterGroup::kStatus)
        fmt::format_to(out, R"("{}":{},)", table[i].name, c[i]);
    fmt::format_to(out, R"("hit_rate":{:.4f},"duplicates":{},"drops":{},"drops_by_cause":{{)", hit,
                   c.get(RxCounter::kDuplicates), c.dropped_total());
    const char* sep = "";
    for (size_t i = 0; i < table.size(); ++i)
      if (table[i].group == CounterGroup::kDrop && c[i])
        fmt::format_to(out, R"({}"{}":{})", std::exchange(sep, ","), table[i].name, c[i]);
    fmt::format_to(out, R"(}},"cooldown":{},"final":{},"counters":{{)", s.cooldown, s.final);
    sep = "";
    for (size_t i = 0; i < table.size(); ++i)
      fmt::format_to(out, R"({}"{}":{})", std::exchange(sep, ","), table[i].name, c[i]);
    fmt::format_to(out, "}}}}\n");
  } else {
    std::string results;
    for (size_t i = 0; i < table.size(); ++i) {
      if (table[i].group != CounterGroup::kStatus) continue;
      results += fmt::format(" {} {}", table[i].name, c[i]);
      if (table[i].slot == rx_slot(Status::kOpen)) results += fmt::format(" ({:.2f}%)", hit);
    }
    std::string drops = fmt::format("drops {}", c.dropped_total());
    const char* sep = " (";
    for (size_t i = 0; i < table.size(); ++i)
      if (table[i].group == CounterGroup::kDrop && c[i])
        drops += fmt::format("{}{} {}", std::exchange(sep, ", "), table[i].name, c[i]);
    if (*sep == ',') drops += ")";
    const std::string body =
        fmt::format("{} {:5.1f}% {} {} | {} {:.3f} Gb/s | recv {}{} dup {} | {}",
                    duration_text(s.elapsed_s), pct,
                    s.final      ? "done"
                    : s.cooldown ? "cooldown"
                                 : "ETA",
                    duration_text(s.final ? 0 : eta), rate_text(s.rate_pps), gbps,
                    c.get(RxCounter::kReceived), results, c.get(RxCounter::kDuplicates), drops);
    if (tty_) {
      constexpr int kBar = 20;
      const int filled = static_cast<int>(pct / 100.0 * kBar + 0.5);
      fmt::format_to(out, "\r\x1b[K[{}{}] {}", std::string(static_cast<size_t>(filled), '#'),
                     std::string(static_cast<size_t>(kBar - filled), '.'), body);
      dirty_ = true;
    } else {
      fmt::format_to(out, "dpscan: {}\n", body);
    }
  }
  std::fwrite(b.data(), 1, b.size(), stderr);
  std::fflush(stderr);
}

void StatusPrinter::finish() {
  if (dirty_) std::fputs("\n", stderr);
  dirty_ = false;
}

}  // namespace dpscan
