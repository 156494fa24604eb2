// dpscan-reflect's dataplane: the gateway router and the internet behind it, on one lcore.
// Each round it takes a burst from the port, answers ARP for the gateway address, meets
// every TCP SYN with what the world (world.hpp) has there, after the impairments (loss in,
// ICMP rate limits, duplicates, reordering), by scheduling the answer in a delay line on the
// TSC for the network's round trip plus jitter; cancels a SYN-ACK's retransmissions when the
// scanner's RST comes; sends what is due (after loss on the way back), and noise. Everything
// it does is counted; every answer that left is recorded for --answered.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "answered_log.hpp"
#include "dpscan/addr.hpp"
#include "dpscan/plan.hpp"
#include "engine/memif_quiesce.hpp"
#include "world.hpp"

namespace dpscan::reflect {

struct ReflectorOptions {
  Ipv4Addr gateway_ip;               // IPv4 worlds: the address whose ARP requests are answered
  Ipv6Addr gateway_ip6;              // IPv6 worlds: the address neighbour solicitations ask for
  size_t queue_capacity = 1u << 22;  // answers waiting at most
  double duration_s = 0;             // 0: until interrupted
  StatusFormat status = StatusFormat::kText;
  AnsweredWriter* answered = nullptr;  // every answer sent goes there (--answered), or nowhere
  // Poll the port only while its link is up (net_memif: see Impl::run).
  bool watch_link = false;
  // net_memif: a departing scanner's announcement; no polling from then until the link went
  // down (engine/memif_quiesce.hpp). Checked about once a millisecond.
  QuiesceListener* quiesce = nullptr;
};

// Everything the reflector does, counted. The status line and the summary list them in this
// order, with these names.
struct Counters {
  uint64_t received = 0;              // frames taken from the port
  uint64_t probes = 0;                // TCP SYNs (UDP and echo: udp_probes, echo_requests)
  uint64_t rst_received = 0;          // TCP RSTs (they stop a SYN-ACK's retransmissions)
  uint64_t arp_requests = 0;          // for the gateway address
  uint64_t ignored = 0;               // everything else (other ARP, other IP, other TCP)
  uint64_t lost_in = 0;               // probes (and RSTs) lost on the way in, on purpose
  uint64_t silent = 0;                // probes nothing answers (the world's truth)
  uint64_t suppressed = 0;            // ICMP errors a router's rate limit held back
  uint64_t duplicated = 0;            // answers scheduled twice, on purpose
  uint64_t reordered = 0;             // answers held back, on purpose
  uint64_t retransmit_cancelled = 0;  // SYN-ACK retransmissions an RST stopped
  uint64_t lost_out = 0;              // answers lost on the way back, on purpose
  uint64_t sent_synack = 0;  // answers that left, by kind (first sends and retransmissions)
  uint64_t sent_rst = 0;
  uint64_t sent_icmp = 0;
  uint64_t retransmissions = 0;  // of which SYN-ACK retransmissions
  uint64_t arp_replies = 0;
  uint64_t ndp_solicits = 0;        // neighbour solicitations for the gateway address (IPv6)
  uint64_t ndp_adverts = 0;         // and the advertisements that answered them
  uint64_t noise = 0;               // unsolicited frames sent
  uint64_t queue_full = 0;          // answers not scheduled: the delay line was full
  uint64_t tx_retries = 0;          // transmit calls that took fewer frames than offered
  uint64_t no_buffer = 0;           // answers not sent: no packet buffer
  uint64_t not_sent = 0;            // frames not sent: the port took none of a full queue
  uint64_t answered_ring_full = 0;  // answers sent but not logged: the --answered ring was full
  uint64_t udp_probes = 0;          // UDP datagrams to a target
  uint64_t echo_requests = 0;       // ICMP(v6) echo requests to a target
  uint64_t unanswerable = 0;        // UDP requests its service does not understand (or longer than
                                    // the reflector keeps), echo requests longer than it keeps
  uint64_t host_suppressed = 0;     // ICMP port unreachable a host's rate limit held back
  uint64_t sent_udp = 0;            // answers that left: UDP services' answers
  uint64_t sent_echo = 0;           // and echo replies (port unreachable counts in sent_icmp)
};
// (name, member) for each counter, in order.
const std::vector<std::pair<const char*, uint64_t Counters::*>>& counter_fields();

class Reflector {
 public:
  // The port is started; `mac` is its address.
  Reflector(const World& world, uint64_t seed, uint16_t port, uint16_t rx_queues, uint16_t tx_queue,
            const MacAddr& mac, const ReflectorOptions& options);
  ~Reflector();
  Reflector(const Reflector&) = delete;
  Reflector& operator=(const Reflector&) = delete;

  // Runs until `interrupts` is non-zero or the duration is over.
  void run(const std::atomic<int>& interrupts);

  const Counters& counters() const;
  double seconds() const;  // how long run() ran
  size_t queued() const;   // answers still waiting (the delay line and the port's queue)

  struct Impl;  // the loop, per family (reflector.cpp)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpscan::reflect
