#include "tx_loop.hpp"

namespace dpscan {

unsigned send_all(uint16_t port, uint16_t queue, rte_mbuf** pkts, unsigned n, Counter& retries,
                  const RunControl& control) {
  unsigned done = 0;
  while (done < n) {
    const uint16_t k = rte_eth_tx_burst(port, queue, pkts + done, static_cast<uint16_t>(n - done));
    done += k;
    if (done < n) {
      retries.add();  // back-pressure: the queue is full, try again (never drop)
      if (control.stop.load(std::memory_order_relaxed)) {
        rte_pktmbuf_free_bulk(pkts + done, n - done);
        break;
      }
      wait_a_little(control);
    }
  }
  return done;
}

}  // namespace dpscan
