// dpscan's entry point: the only place that turns errors into exit codes (2 for usage
// errors, 1 for run-time failures, 130 after an interrupt) and the only place with signal
// handlers.
#include <csignal>
#include <exception>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/log.hpp"
#include "dpscan/output.hpp"
#include "dpscan/plan.hpp"
#include "engine/engine.hpp"

namespace {

std::atomic<int> g_interrupts{0};

extern "C" void on_signal(int) {
  g_interrupts.fetch_add(1);
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  // A closed pipe is a write error we report, not a silent death.
  std::signal(SIGPIPE, SIG_IGN);
}

void print_closing(const dpscan::RunSummary& s) {
  using dpscan::log::info;
  if (s.dry_run) {
    info("dry run: {} probes written{}", s.sent, s.interrupted ? " (interrupted)" : "");
    return;
  }
  info(
      "done: sent {} in {:.2f} s ({:.0f} pps), received {}, open {}, closed {}, unreachable {}, "
      "duplicates {}, dropped {}{}",
      s.sent, s.send_duration_s, s.send_rate(), s.received, s.by_status[0], s.by_status[1],
      s.by_status[2], s.duplicates, s.dropped_total(), s.interrupted ? " (interrupted)" : "");
}

int run(int argc, char** argv) {
  auto plan = dpscan::parse_command_line(argc, argv);
  if (!plan) return 0;
  dpscan::log::level() = plan->verbosity;
  install_signal_handlers();

  dpscan::OutputFile out(plan->output_path);
  auto writer = dpscan::make_writer(plan->output_format, out, plan->dry_run);
  dpscan::OutputSink sink{*writer, out};
  const dpscan::RunSummary summary = plan->dry_run ? dpscan::run_dry_run(*plan, sink, g_interrupts)
                                                   : dpscan::run_scan(*plan, sink, g_interrupts);
  writer->end();
  out.close();
  if (!plan->summary_path.empty()) dpscan::write_summary_file(summary, plan->summary_path);
  print_closing(summary);
  return summary.interrupted ? 130 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const dpscan::UsageError& e) {
    dpscan::log::error("{}", e.what());
    fmt::print(stderr, "Try 'dpscan --help' for more information.\n");
    return 2;
  } catch (const dpscan::RuntimeError& e) {
    dpscan::log::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    dpscan::log::error("{}", e.what());
    return 1;
  }
}
