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
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
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
  uint64_t metrics_refused = 0;    // MetricsServer::refused()
  uint64_t metrics_timed_out = 0;  // MetricsServer::timed_out()
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

// What a request asks for, from the bytes read so far (metrics_server.cpp).
enum class RequestVerdict {
  kIncomplete,   // the header has not ended yet (neither "\r\n\r\n" nor "\n\n")
  kMetrics,      // GET /metrics (or /metrics?...): 200 with the text
  kHeadMetrics,  // HEAD /metrics: 200, the header only
  kNotFound,     // GET or HEAD of another path: 404
  kBadMethod,    // another method: 405
  kBadRequest,   // not an HTTP request, or a header longer than kMaxRequest: 400
};
RequestVerdict classify_request(std::string_view request);

// Serves GET and HEAD /metrics with the text last given to publish(), from one thread that
// never blocks: non-blocking sockets under poll(), up to kMaxClients connections at a time
// (more are answered 503 and closed, counted as refused). Each connection has kDeadline from
// accept to the last byte of its answer, reading and sending together; then it is closed
// (counted as timed out), so no client holds another up, or the run's end. Binds at
// construction (throws RuntimeError naming the address when it cannot); the destructor wakes
// the thread and closes every connection at once, without waiting for any client.
class MetricsServer {
 public:
  static constexpr size_t kMaxClients = 256;
  static constexpr size_t kMaxRequest = 8192;
  static constexpr std::chrono::milliseconds kDeadline{2000};

  explicit MetricsServer(const std::string& spec);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  void publish(std::string text);
  uint16_t port() const { return port_; }  // the bound port (0 asked: the kernel's choice)
  uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  uint64_t timed_out() const { return timed_out_.load(std::memory_order_relaxed); }

 private:
  struct Client;
  void serve();
  bool accept_all(std::vector<Client>& clients);
  bool read_request(Client& c);  // false: close the connection
  bool send_answer(Client& c);   // false: close the connection
  void answer(RequestVerdict v, Client& c);

  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};  // a pipe: the destructor writes, poll() wakes
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> scrapes_{0};
  std::atomic<uint64_t> refused_{0};
  std::atomic<uint64_t> timed_out_{0};
  std::mutex mu_;
  std::shared_ptr<const std::string> text_;  // shared by the answers being sent
  std::thread thread_;
};

}  // namespace dpscan
