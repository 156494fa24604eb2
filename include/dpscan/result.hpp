// What an RX lcore hands to the main lcore through an rte_ring: 48 bytes per result, of
// either family and any module, followed in the ring by up to --udp-response-bytes of the
// answer's payload when the scan keeps them (result_stride()).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dpscan/ip_addr.hpp"
#include "dpscan/status.hpp"

namespace dpscan {

enum class Proto : uint8_t { kTcp, kUdp, kIcmp };
inline std::string_view proto_name(Proto p) {
  return p == Proto::kTcp ? "tcp" : p == Proto::kUdp ? "udp" : "icmp";
}

struct Result {
  IpAddr ip;
  uint32_t time_s = 0;     // Unix time when received
  uint16_t port = 0;       // 0 for ICMP echo
  uint16_t window = 0;     // TCP
  uint16_t resp_len = 0;   // the answer's payload bytes (UDP, ICMP echo)
  uint16_t probe_len = 0;  // the probe's payload bytes: amplification = resp_len / probe_len
  uint16_t slot = 0;       // the probe slot (UDP: names the payload, OutputContext::slot_names)
  uint16_t data_len = 0;   // payload bytes kept after the Result in the ring
  Status status = Status::kOpen;
  Reason reason = Reason::kSynAck;
  Proto proto = Proto::kTcp;
  uint8_t ttl = 0;
  uint8_t validation_bits = 0;  // cookie bits the answer proved
  uint8_t icmp_code = 0;
};
static_assert(sizeof(Result) == 48);

// The most payload bytes a result keeps (--udp-response-bytes).
constexpr size_t kMaxKeepBytes = 512;

// The bytes a result takes in a ring: the Result, then `keep` bytes of payload, rounded to 8.
constexpr size_t result_stride(size_t keep) {
  return sizeof(Result) + (keep + 7) / 8 * 8;
}

// A result as the outputs see it: the fixed fields and the payload bytes kept.
struct ResultView {
  const Result& r;
  std::span<const uint8_t> data;
};

inline std::string_view reason_name(const Result& r) {
  return reason_name(r.reason);
}

}  // namespace dpscan
