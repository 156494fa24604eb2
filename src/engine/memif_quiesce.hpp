// net_memif's departure handshake (docs/design.md, "The memif teardown"). When a memif peer
// leaves, DPDK 22.11's PMD in the process that stays unmaps the shared regions from its
// interrupt thread (memif_disconnect -> memif_free_regions), while that process's lcore may
// be inside rte_eth_rx_burst or rte_eth_tx_burst on them: a SIGSEGV. No check on the lcore
// can close that window (the unmap runs in another thread), and memif has no control message
// for it. So the process that stays listens on a small unix socket next to the memif socket
// (QuiesceListener, polled between bursts by the thread that bursts); the process that leaves
// connects to it before it stops its port and says so (announce_departure); the listener
// stops polling the port, answers, and polls again only after the link went down and came
// back up (a new connection, mapped afresh). A peer without a listener (testpmd, an older
// dpscan) is left as before.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dpscan {

// The side socket of a net_memif device string: "<socket>.quiesce-<role>", abstract or a
// file as the memif socket is (socket=, socket-abstract=, role=; DPDK's defaults otherwise).
// `own`: this process's listener; otherwise the peer's (the other role). nullopt: not memif.
struct QuiesceAddress {
  std::string path;
  bool abstract = true;
};
std::optional<QuiesceAddress> quiesce_address(const std::string& device, bool own);

class QuiesceListener {
 public:
  // Listens at this device's own address; throws RuntimeError.
  explicit QuiesceListener(const std::string& device);
  ~QuiesceListener();
  QuiesceListener(const QuiesceListener&) = delete;
  QuiesceListener& operator=(const QuiesceListener&) = delete;

  // Accepts, and answers a departure once `quiesce` has returned (from then on paused()
  // until link_down()). Called between bursts by the thread that bursts, `quiesce` may do
  // nothing; called by another thread, it must stop the bursts and wait for them to end.
  void poll(const std::function<void()>& quiesce = {});
  bool paused() const { return paused_; }
  // The link was seen down: the departed peer's disconnect is under way (or over), and the
  // next link up is a new connection.
  void link_down() { paused_ = false; }
  uint64_t departures() const { return departures_; }

 private:
  int fd_ = -1;
  std::string unlink_path_;  // a file socket, removed at the end
  std::vector<int> peers_;
  bool paused_ = false;
  uint64_t departures_ = 0;
};

enum class Departure { kNoListener, kAcknowledged, kTimedOut };

// Before stopping a net_memif port, after this process stopped polling it: tells the peer's
// listener (if it has one) and waits at most timeout_ms until the peer has stopped polling.
Departure announce_departure(const std::string& device, int timeout_ms);

}  // namespace dpscan
