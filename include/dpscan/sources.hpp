// The scanner's own source addresses (--source-ip, a list or range), of one family. Each
// probe's source is chosen from the target by a multiplicative hash, so it needs no state and
// spreads the probes evenly; answers are ours when addressed to any of them, and ARP or NDP
// is answered for all of them. The common cases (one address, one contiguous range) test
// membership with one subtraction and compare.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "dpscan/addr.hpp"

namespace dpscan {

namespace sources_detail {
// The distance from `first` up to `a`, when it fits in 64 bits.
inline std::optional<uint64_t> offset(Ipv4Addr first, Ipv4Addr a) {
  return uint64_t{static_cast<uint32_t>(a.value() - first.value())};
}
inline std::optional<uint64_t> offset(Ipv6Addr first, Ipv6Addr a) {
  if (a.hi() != first.hi()) return std::nullopt;
  return a.lo() - first.lo();
}
// 32 well-mixed bits of a target for the multiplicative pick.
inline uint32_t fold(Ipv4Addr a) {
  return a.value();
}
inline uint32_t fold(Ipv6Addr a) {
  const uint64_t x = a.hi() ^ a.lo();
  return static_cast<uint32_t>(x ^ (x >> 32));
}
}  // namespace sources_detail

template <typename A>
class SourceAddressesOf {
 public:
  SourceAddressesOf() = default;
  // Throws UsageError when empty.
  explicit SourceAddressesOf(std::vector<A> addrs);

  size_t size() const { return addrs_.size(); }
  bool empty() const { return addrs_.empty(); }
  A first() const { return addrs_.front(); }
  const std::vector<A>& all() const { return addrs_; }

  A pick(A dst, uint16_t dport) const {
    if (count_ == 1) return addrs_.front();
    const uint32_t h = (sources_detail::fold(dst) ^ (uint32_t{dport} << 16)) * 0x9e3779b1u;
    return addrs_[(uint64_t{h} * count_) >> 32];
  }
  bool contains(A ip) const {
    if (contiguous_) {
      const auto d = sources_detail::offset(addrs_.front(), ip);
      return d && *d < count_;
    }
    return std::binary_search(addrs_.begin(), addrs_.end(), ip);
  }

 private:
  std::vector<A> addrs_;
  uint32_t count_ = 0;
  bool contiguous_ = true;
};

using SourceAddresses = SourceAddressesOf<Ipv4Addr>;
using SourceAddresses6 = SourceAddressesOf<Ipv6Addr>;

// Parse a comma-separated list of addresses, a-b ranges and CIDR blocks (at most 4096
// addresses) of one family. Throw UsageError.
SourceAddresses parse_sources4(std::string_view spec);
SourceAddresses6 parse_sources6(std::string_view spec);

extern template class SourceAddressesOf<Ipv4Addr>;
extern template class SourceAddressesOf<Ipv6Addr>;

}  // namespace dpscan
