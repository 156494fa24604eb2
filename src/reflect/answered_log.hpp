// --answered as the run goes: the reflector's datapath hands each answer that left to an
// SPSC ring (no lock, no allocation per packet; a full ring is refused and the datapath
// counts it), and a writer thread appends the first answer of each pair to the file and
// flushes it several times a second, so a reflector that dies (SIGKILL, a crash in a PMD)
// leaves every answer sent more than a flush period before in the file. At a clean end the
// file is rewritten sorted by address and port (a new file renamed over it): exactly what
// the end-of-run log held before, dpscan's TCP CSV (ip,port,status,ttl,window,timestamp)
// and the answer's protocol (tcp, udp, icmp: an echo reply, port 0).
// "First" is the first in sending order (the datapath records in the order the port took
// the frames, on a clock that never goes back), decided here, on the writer's side.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dpscan/ip_addr.hpp"
#include "dpscan/result.hpp"
#include "spsc_ring.hpp"

namespace dpscan::reflect {

// One answer that left: the pair, its status and when (TSC).
struct AnswerRecord {
  uint64_t hi = 0;  // IPv6: the address's high half; IPv4: 0
  uint64_t lo = 0;  // IPv6: the low half; IPv4: the address
  uint64_t tsc = 0;
  uint16_t port = 0;
  uint8_t status = 0;
  uint8_t v6 = 0;     // 1: IPv6
  uint8_t proto = 0;  // dpscan::Proto: TCP, UDP, ICMP (echo: port 0)
  uint8_t reserved[3] = {};

  IpAddr ip() const {
    return v6 ? IpAddr(Ipv6Addr(hi, lo)) : IpAddr(Ipv4Addr(static_cast<uint32_t>(lo)));
  }
};
static_assert(sizeof(AnswerRecord) == 32);
using AnswerRing = SpscRing<AnswerRecord>;

class AnsweredWriter {
 public:
  // The TTL and window a pair's answers carry (the world's), asked on the writer's side.
  using Lookup =
      std::function<std::pair<uint8_t, uint16_t>(Proto proto, const IpAddr&, uint16_t port)>;

  // Creates (truncates) `path` with the CSV header; throws RuntimeError if it cannot.
  AnsweredWriter(std::string path, Lookup lookup, size_t ring_capacity = size_t{1} << 21);
  ~AnsweredWriter();  // stops the thread; the file keeps what was written (no sorted rewrite)
  AnsweredWriter(const AnsweredWriter&) = delete;
  AnsweredWriter& operator=(const AnsweredWriter&) = delete;

  AnswerRing& ring() { return ring_; }
  // How TSC values become Unix time: set by the datapath before its first record.
  void set_clock(uint64_t hz, uint64_t start_tsc, double unix_base);

  // Drains the ring every `period` on a thread of its own (flushing the file each time).
  void start(std::chrono::milliseconds period = std::chrono::milliseconds(50));
  // Writer side: the ring's records into the file (the first per pair), flushed. Returns how
  // many records it took. Call only while the thread is not running.
  size_t drain();
  // Stops the thread, drains, and rewrites the file sorted. Throws RuntimeError on a write
  // error (met here or earlier on the thread).
  void finish();

  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t written() const { return kept_.size(); }  // after finish(): the file's lines

 private:
  struct Key {
    uint64_t hi, lo;
    uint32_t port_v6;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  std::string line(const AnswerRecord& r) const;
  void loop(std::chrono::milliseconds period);
  void stop_thread();

  std::string path_;
  Lookup lookup_;
  AnswerRing ring_;
  std::FILE* file_ = nullptr;
  bool failed_ = false;
  uint64_t hz_ = 1, start_tsc_ = 0;
  double unix_base_ = 0;
  std::unordered_set<Key, KeyHash> seen_;
  std::vector<AnswerRecord> kept_;  // the first per pair, in sending order
  std::atomic<uint64_t> records_{0};
  std::thread thread_;
  std::mutex mu_;  // the thread's sleep only (never taken by the datapath)
  std::condition_variable wake_;
  bool stop_ = false;
};

}  // namespace dpscan::reflect
