// The Prometheus exposition (metrics.cpp) from the counter table: per-lcore samples sum to
// the run's totals, the device's counters carry no lcore label, every family is declared
// once. (metrics_prometheus.py checks a real scan against promtool and Prometheus.)
#include <doctest/doctest.h>

#include <map>
#include <regex>
#include <sstream>

#include "dpscan/counters.hpp"
#include "dpscan/metrics.hpp"

using namespace dpscan;

TEST_CASE("Prometheus text: one sample per lcore, summing to the totals") {
  std::vector<LcoreCounters> lcores;
  CounterValues total;
  for (int t = 0; t < 3; ++t) {
    lcores.push_back({"tx" + std::to_string(t), CounterHome::kTx, {}});
    lcores.back().values.add(CounterHome::kTx, static_cast<size_t>(TxCounter::kSent), 100 + t);
    total.add(CounterHome::kTx, static_cast<size_t>(TxCounter::kSent), 100 + t);
  }
  for (int r = 0; r < 2; ++r) {
    lcores.push_back({"rx" + std::to_string(r), CounterHome::kRx, {}});
    lcores.back().values.add(CounterHome::kRx, rx_slot(Status::kOpen), 7 * (r + 1));
    total.add(CounterHome::kRx, rx_slot(Status::kOpen), 7 * (r + 1));
  }
  total.add(CounterHome::kDevice, static_cast<size_t>(DeviceCounter::kMissed), 5);
  const std::string text = prometheus_text(total, lcores, MetricLabels{"web", 2, 4}, {});

  // name{labels} value, summed over the lcore label.
  std::map<std::string, double> sum;
  std::map<std::string, int> families;
  const std::regex sample(R"(^(\w+)\{([^}]*)\} (\S+)$)");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("# TYPE ", 0) == 0) ++families[line.substr(7, line.find(' ', 7) - 7)];
    std::smatch m;
    if (!std::regex_match(line, m, sample)) continue;
    std::string labels = std::regex_replace(m[2].str(), std::regex(R"(,?lcore="[^"]*")"), "");
    CHECK(labels.find("scan=\"web\",shard=\"3/4\"") == 0);
    sum[m[1].str() + "{" + labels + "}"] += std::stod(m[3].str());
  }
  CHECK(sum["dpscan_probes_sent_total{scan=\"web\",shard=\"3/4\"}"] == 303);
  CHECK(sum["dpscan_results_total{scan=\"web\",shard=\"3/4\",status=\"open\"}"] == 21);
  CHECK(text.find("dpscan_probes_sent_total{scan=\"web\",shard=\"3/4\",lcore=\"tx2\"} 102") !=
        std::string::npos);
  CHECK(text.find("status=\"open\"") != std::string::npos);
  // The device's drops: one sample, no lcore label.
  CHECK(std::regex_search(text, std::regex(R"(dpscan_dropped_total\{scan="web",shard="3/4",)"
                                           R"(reason="[a-z_]*missed[a-z_]*"\} 5)")));
  for (const auto& [name, n] : families) CHECK_MESSAGE(n == 1, name);

  // Without lcores (a dry run): the totals, unlabelled.
  const std::string dry = prometheus_text(total, {}, MetricLabels{}, {});
  CHECK(dry.find("lcore=") == std::string::npos);
  CHECK(dry.find("dpscan_probes_sent_total{scan=\"scan\",shard=\"1/1\"} 303") != std::string::npos);
}

TEST_CASE("/metrics requests: what each asks for, as soon as the bytes tell") {
  using V = RequestVerdict;
  CHECK(classify_request("") == V::kIncomplete);
  CHECK(classify_request("GE") == V::kIncomplete);
  CHECK(classify_request("GET /metrics HTTP/1.1\r\nHost: x\r\n") == V::kIncomplete);
  CHECK(classify_request("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == V::kMetrics);
  CHECK(classify_request("GET /metrics?x=1 HTTP/1.0\r\n\r\n") == V::kMetrics);
  CHECK(classify_request("GET /metrics HTTP/1.0\nHost: x\n\n") == V::kMetrics);  // bare LF
  CHECK(classify_request("HEAD /metrics HTTP/1.1\r\n\r\n") == V::kHeadMetrics);
  CHECK(classify_request("GET / HTTP/1.1\r\n\r\n") == V::kNotFound);
  CHECK(classify_request("GET /metricsx HTTP/1.1\r\n\r\n") == V::kNotFound);
  CHECK(classify_request("POST /metrics HTTP/1.1\r\n\r\n") == V::kBadMethod);
  CHECK(classify_request("DELETE /x HTTP/1.1\r\n\r\n") == V::kBadMethod);
  // Junk is known at once, without waiting for an end of header that may never come.
  CHECK(classify_request("\x16\x03\x01") == V::kBadRequest);
  CHECK(classify_request(" GET") == V::kBadRequest);
  CHECK(classify_request("hello there\r\n\r\n") == V::kBadRequest);
  CHECK(classify_request("GET /metrics\r\n\r\n") == V::kBadRequest);
  CHECK(classify_request("GET metrics HTTP/1.1\r\n\r\n") == V::kBadRequest);
  CHECK(classify_request("GET /metrics HTTP/2.0\r\n\r\n") == V::kBadRequest);
  CHECK(classify_request("GET /met\x01rics HTTP/1.1\r\n\r\n") == V::kBadRequest);
  CHECK(classify_request(std::string(MetricsServer::kMaxRequest, 'G')) == V::kBadRequest);
  CHECK(classify_request("GET /metrics HTTP/1.1\r\nX: " +
                         std::string(MetricsServer::kMaxRequest, 'a')) == V::kBadRequest);
}
