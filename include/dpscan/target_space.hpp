// The scan's index space (DESIGN.md, decision 1). With A addresses (sorted disjoint
// intervals) and P ports, index i in [0, A*P) names the pair
//     address = the (i / P)-th address of the interval list, port = ports[i % P].
// Both directions are cheap: at() is on the per-probe TX path, index_of() on the RX path
// (deduplication). at() avoids a binary search with a bucket table: bucket b holds the first
// interval that contains address index b << shift, so the search is usually zero or one step.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dpscan/fastdiv.hpp"
#include "dpscan/ip_set.hpp"

namespace dpscan {

struct Target {
  uint32_t ip;  // host order
  uint16_t port;
  friend bool operator==(const Target&, const Target&) = default;
};

class TargetSpace {
 public:
  TargetSpace(const IpSet& addresses, std::vector<uint16_t> ports);

  uint64_t addresses() const { return prefix_.back(); }
  const std::vector<uint16_t>& ports() const { return ports_; }
  uint64_t size() const { return addresses() * ports_.size(); }
  size_t interval_count() const { return starts_.size(); }

  // Precondition: index < size().
  Target at(uint64_t index) const {
    const uint64_t addr_index = port_div_.div(index);
    const uint64_t port_index = index - addr_index * ports_.size();
    uint32_t k = buckets_[addr_index >> bucket_shift_];
    while (prefix_[k + 1] <= addr_index) ++k;
    return {static_cast<uint32_t>(starts_[k] + (addr_index - prefix_[k])), ports_[port_index]};
  }

  std::optional<uint64_t> index_of(uint32_t ip, uint16_t port) const;

 private:
  std::vector<uint32_t> starts_;
  std::vector<uint32_t> lasts_;
  std::vector<uint64_t> prefix_;  // prefix_[k] = addresses before interval k; size k+1
  std::vector<uint32_t> buckets_;
  unsigned bucket_shift_ = 0;
  std::vector<uint16_t> ports_;
  std::vector<int32_t> port_index_;  // 65536 entries, -1 where the port is not scanned
  FastDiv port_div_;
};

}  // namespace dpscan
