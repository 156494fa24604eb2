// --bench-responder: instead of a device, a pair of rte_ring-backed ports inside the process
// (rte_eth_from_rings) and one more lcore that answers every SYN it takes from the TX rings
// with a valid SYN-ACK on an RX ring. It measures dpscan's receive path (classify, cookie,
// dedup, results) at rates no lab target reaches, with a known answer for every probe:
// every probe must come back as one open result, so anything less is a lost result.
// Back-pressure at every stage (full rings are retried, never dropped) keeps it lossless.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "engine/counter.hpp"

struct rte_mempool;
struct rte_ring;

namespace dpscan {

struct alignas(64) ResponderStats {
  Counter answered;
  Counter ignored;  // not a SYN (RSTs, ARP)
  Counter retries;  // RX ring full, tried again
};

class BenchResponder {
 public:
  // Creates the rings and the port; throws RuntimeError.
  BenchResponder(unsigned rx_queues, unsigned tx_queues);
  ~BenchResponder();
  BenchResponder(const BenchResponder&) = delete;
  BenchResponder& operator=(const BenchResponder&) = delete;

  uint16_t port() const { return port_; }
  void launch(unsigned lcore, const std::atomic<bool>& stop);  // throws RuntimeError
  const ResponderStats& stats() const { return stats_; }

 private:
  static int main_loop(void* self);
  std::vector<rte_ring*> to_responder_;    // the port's TX queues
  std::vector<rte_ring*> from_responder_;  // the port's RX queues
  rte_mempool* pool_ = nullptr;
  uint16_t port_ = 0;
  const std::atomic<bool>* stop_ = nullptr;
  ResponderStats stats_;
};

}  // namespace dpscan
