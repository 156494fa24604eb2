// The once-a-second status on standard error: a self-rewriting line with a progress bar on a
// terminal, plain lines otherwise (logs, pipes), or one JSON object per line for machines
// (--status-format ndjson). It says where every packet went: sent, received, results by
// status, duplicates and each cause of drops that is not zero, all read from the one
// counter table (counters.hpp); the ndjson record carries every counter. A last record,
// marked final, gives the figures at the end of the run (the summary's).
#pragma once

#include <cstdint>
#include <string>

#include "dpscan/counters.hpp"
#include "dpscan/plan.hpp"

namespace dpscan {

struct StatusSample {
  double elapsed_s = 0;
  uint64_t planned = 0;  // probes this run will send at most
  double rate_pps = 0;   // over the last interval
  CounterValues counters;
  bool cooldown = false;
  double cooldown_left_s = 0;
  bool final = false;  // the end of the run
};

// "49.9 kpps", "27.06 Mpps": a rate for people.
std::string rate_text(double pps);

class StatusPrinter {
 public:
  StatusPrinter(StatusFormat format, uint64_t wire_bytes_per_probe);
  void print(const StatusSample& s);
  void finish();  // ends a self-rewriting line

 private:
  StatusFormat format_;
  bool tty_;
  uint64_t wire_bytes_;
  bool dirty_ = false;
};

}  // namespace dpscan
