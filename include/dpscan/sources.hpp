// The scanner's own source addresses (--source-ip, a list or range). Each probe's source is
// chosen from the target by a multiplicative hash, so it needs no state and spreads the
// probes evenly; answers are ours when addressed to any of them, and ARP is answered for
// all of them. The common cases (one address, one contiguous range) test membership with
// one subtraction and compare.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "dpscan/addr.hpp"

namespace dpscan {

class SourceAddresses {
 public:
  SourceAddresses() = default;
  explicit SourceAddresses(std::vector<Ipv4Addr> addrs);
  // Parses a comma-separated list of addresses, a-b ranges and CIDR blocks (at most 4096
  // addresses). Throws UsageError.
  static SourceAddresses parse(std::string_view spec);

  size_t size() const { return addrs_.size(); }
  bool empty() const { return addrs_.empty(); }
  Ipv4Addr first() const { return addrs_.front(); }
  const std::vector<Ipv4Addr>& all() const { return addrs_; }

  Ipv4Addr pick(Ipv4Addr dst, uint16_t dport) const {
    if (count_ == 1) return Ipv4Addr(first_);
    const uint32_t h = (dst.value() ^ (uint32_t{dport} << 16)) * 0x9e3779b1u;
    return addrs_[(uint64_t{h} * count_) >> 32];
  }
  bool contains(Ipv4Addr ip) const {
    if (contiguous_) return ip.value() - first_ < count_;
    return std::binary_search(addrs_.begin(), addrs_.end(), ip);
  }

 private:
  std::vector<Ipv4Addr> addrs_;
  uint32_t first_ = 0;
  uint32_t count_ = 0;
  bool contiguous_ = true;
};

}  // namespace dpscan
