// What an RX lcore hands to the main lcore through an rte_ring: 16 bytes per result.
#pragma once

#include <cstdint>

#include "dpscan/classify.hpp"

namespace dpscan {

struct Result {
  uint32_t ip;
  uint16_t port;
  Status status;
  uint8_t ttl;
  uint16_t window;
  uint16_t reserved;
  uint32_t time_s;  // Unix time when received
};
static_assert(sizeof(Result) == 16);

}  // namespace dpscan
