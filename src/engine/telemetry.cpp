#include "telemetry.hpp"

#include <rte_telemetry.h>

#include <mutex>

#include "dpscan/log.hpp"

namespace dpscan {
namespace {

std::mutex g_mutex;
std::function<TelemetryFields()> g_provider;

int stats_cb(const char*, const char*, rte_tel_data* d) {
  std::lock_guard lock(g_mutex);
  rte_tel_data_start_dict(d);
  if (!g_provider) return 0;
  for (const auto& [name, value] : g_provider()) rte_tel_data_add_dict_u64(d, name.c_str(), value);
  return 0;
}

}  // namespace

TelemetryGuard::TelemetryGuard(std::function<TelemetryFields()> provider) {
  static const bool registered = [] {
    const int rc = rte_telemetry_register_cmd("/dpscan/stats", stats_cb,
                                              "dpscan counters. Takes no parameters");
    if (rc != 0) log::verbose("telemetry command /dpscan/stats not registered ({})", rc);
    return rc == 0;
  }();
  (void)registered;
  std::lock_guard lock(g_mutex);
  g_provider = std::move(provider);
}

TelemetryGuard::~TelemetryGuard() {
  std::lock_guard lock(g_mutex);
  g_provider = nullptr;
}

}  // namespace dpscan
