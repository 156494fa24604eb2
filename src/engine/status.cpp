#include "status.hpp"

#include <unistd.h>

#include <cstdio>
#include <iterator>

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
  const double pct =
      s.planned ? 100.0 * static_cast<double>(s.sent) / static_cast<double>(s.planned) : 100.0;
  const double gbps = s.rate_pps * static_cast<double>(wire_bytes_) * 8 / 1e9;
  const double hit = s.sent ? 100.0 * static_cast<double>(s.open) / static_cast<double>(s.sent) : 0;
  const double eta = s.cooldown ? s.cooldown_left_s
                     : s.rate_pps > 0
                         ? static_cast<double>(s.planned - std::min(s.sent, s.planned)) / s.rate_pps
                         : -1;
  fmt::memory_buffer b;
  auto out = std::back_inserter(b);
  if (format_ == StatusFormat::kNdjson) {
    fmt::format_to(
        out,
        R"({{"elapsed":{:.3f},"percent":{:.3f},"eta":{},"sent":{},"rate_pps":{:.1f},"gbps":{:.4f},)"
        R"("received":{},"open":{},"closed":{},"unreachable":{},"hit_rate":{:.4f},"duplicates":{},)"
        R"("drops":{},"drops_by_cause":{{)",
        s.elapsed_s, pct, eta < 0 ? std::string("null") : fmt::format("{:.1f}", eta), s.sent,
        s.rate_pps, gbps, s.received, s.open, s.closed, s.unreachable, hit, s.duplicates, s.drops);
    const char* sep = "";
    for (const auto& [cause, n] : s.drops_by_cause)
      fmt::format_to(out, R"({}"{}":{})", std::exchange(sep, ","), cause, n);
    fmt::format_to(out,
                   R"(}},"cooldown":{}}})"
                   "\n",
                   s.cooldown);
  } else {
    std::string drops = fmt::format("drops {}", s.drops);
    if (!s.drops_by_cause.empty()) {
      drops += " (";
      const char* sep = "";
      for (const auto& [cause, n] : s.drops_by_cause)
        drops += fmt::format("{}{} {}", std::exchange(sep, ", "), cause, n);
      drops += ")";
    }
    const std::string body = fmt::format(
        "{} {:5.1f}% {} {} | {} {:.3f} Gb/s | recv {} open {} ({:.2f}%) closed {} unreach {} dup "
        "{} | {}",
        duration_text(s.elapsed_s), pct, s.cooldown ? "cooldown" : "ETA", duration_text(eta),
        rate_text(s.rate_pps), gbps, s.received, s.open, hit, s.closed, s.unreachable, s.duplicates,
        drops);
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
