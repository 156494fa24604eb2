// Prometheus metrics of a run (--metrics-listen): the text exposition format (version 0.0.4)
// generated from the counter table (counters.hpp), and a small HTTP endpoint that serves the
// latest rendering from a helper thread, never from the TX/RX lcores.
//
// Names follow Prometheus' conventions: counters end in _total (dpscan_probes_sent_total,
// dpscan_<counter>_total), results by status are dpscan_results_total{status=...}, drops
// are dpscan_dropped_total{reason=...}; gauges (planned probes, send rate, elapsed seconds,
// sending done) carry their unit. Every sample has the labels scan="NAME" and shard="I/N";
// a counter kept by the TX or RX lcores has one sample per lcore, labelled lcore="tx0",
// "rx1", ... (sum them for the run's total), the device's counters one without that label.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dpscan/counters.hpp"

namespace dpscan {

struct MetricLabels {
  std::string scan = "scan";
  uint32_t shard_index = 0;  // 0-based
  uint32_t shard_count = 1;
};

struct MetricGauges {
  uint64_t planned = 0;  // probes this run sends at most
  double send_rate_pps = 0;
  double elapsed_s = 0;
  bool sending_done = false;
};

// One lcore's share of the counters (only the entries of its home are set).
struct LcoreCounters {
  std::string lcore;  // "tx0", "rx0", ...
  CounterHome home;
  CounterValues values;
};

// `lcores` empty: one sample per counter, without the lcore label (a dry run).
std::string prometheus_text(const CounterValues& c, const std::vector<LcoreCounters>& lcores,
                            const MetricLabels& labels, const MetricGauges& g);

// ADDR:PORT (an IPv4 address, or * for every address): checked, for the option's error.
struct ListenAddress {
  uint32_t addr = 0;  // host order; 0 = any
  uint16_t port = 0;
};
ListenAddress parse_listen_address(const std::string& spec);  // throws UsageError

// Serves GET /metrics with the text last given to publish(). Binds at construction (throws
// RuntimeError naming the address when it cannot) and stops at destruction.
class MetricsServer {
 public:
  explicit MetricsServer(const std::string& spec);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void publish(std::string text);
  uint16_t port() const { return port_; }  // the bound port (0 asked: the kernel's choice)
  uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }

 private:
  void serve();
  void answer(int fd);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> scrapes_{0};
  std::mutex mu_;
  std::string text_;
  std::thread thread_;
};

}  // namespace dpscan
