// Live counters through DPDK telemetry: /dpscan/stats returns a dictionary of the scan's
// counters, so `dpdk-telemetry.py -f <file-prefix>` reads them while a scan runs.
// DPDK's callback takes no user argument, so the current provider sits behind a mutex in
// this file; telemetry runs on its own thread, never on the per-packet path.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dpscan {

using TelemetryFields = std::vector<std::pair<std::string, uint64_t>>;

// Registers /dpscan/stats (once per process) and makes `provider` its source until the
// returned guard is destroyed.
class TelemetryGuard {
 public:
  explicit TelemetryGuard(std::function<TelemetryFields()> provider);
  ~TelemetryGuard();
  TelemetryGuard(const TelemetryGuard&) = delete;
  TelemetryGuard& operator=(const TelemetryGuard&) = delete;
};

}  // namespace dpscan
