// The scan's index space (docs/design.md, decision 1). With A addresses and P ports, index i
// in [0, A*P) names the pair
//     address = the (i / P)-th address of the address list, port = ports[i % P].
// Both directions are cheap: at() is on the per-probe TX path, index_of() on the RX path
// (deduplication). The address list is a parameter: an IPv4 scan's is Ipv4Intervals (sorted
// disjoint intervals, targets minus exclusions); an IPv6 hitlist would be another type with
// the same three members (size, at, index_of), and IndexSpace, ScanOrder and Dedup take it
// as they are.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "dpscan/addr.hpp"
#include "dpscan/fastdiv.hpp"
#include "dpscan/ip_set.hpp"

namespace dpscan {

template <typename A>
struct TargetOf {
  A ip;
  uint16_t port;
  friend bool operator==(const TargetOf&, const TargetOf&) = default;
};
using Target = TargetOf<Ipv4Addr>;

// The addresses of an IPv4 scan. at() avoids a binary search with a bucket table: bucket b
// holds the first interval that contains address index b << shift, so the search is usually
// zero or one step.
class Ipv4Intervals {
 public:
  using Addr = Ipv4Addr;
  Ipv4Intervals(const IpSet& addresses);  // NOLINT: implicit, an IpSet is an address list

  uint64_t size() const { return prefix_.back(); }
  size_t interval_count() const { return starts_.size(); }
  // Precondition: i < size().
  Ipv4Addr at(uint64_t i) const {
    uint32_t k = buckets_[i >> bucket_shift_];
    while (prefix_[k + 1] <= i) ++k;
    return Ipv4Addr(static_cast<uint32_t>(starts_[k] + (i - prefix_[k])));
  }
  std::optional<uint64_t> index_of(Ipv4Addr ip) const;

 private:
  std::vector<uint32_t> starts_;
  std::vector<uint32_t> lasts_;
  std::vector<uint64_t> prefix_;  // prefix_[k] = addresses before interval k; size k+1
  std::vector<uint32_t> buckets_;
  unsigned bucket_shift_ = 0;
};

template <typename AddressList>
class IndexSpace {
 public:
  using Addr = typename AddressList::Addr;
  using TargetType = TargetOf<Addr>;

  // Throws UsageError when there are no addresses or no ports.
  IndexSpace(AddressList addresses, std::vector<uint16_t> ports);

  uint64_t addresses() const { return addrs_.size(); }
  const AddressList& address_list() const { return addrs_; }
  const std::vector<uint16_t>& ports() const { return ports_; }
  uint64_t size() const { return addresses() * ports_.size(); }

  // Precondition: index < size().
  TargetType at(uint64_t index) const {
    const uint64_t addr_index = port_div_.div(index);
    const uint64_t port_index = index - addr_index * ports_.size();
    return {addrs_.at(addr_index), ports_[port_index]};
  }

  std::optional<uint64_t> index_of(Addr ip, uint16_t port) const {
    const int32_t pi = port_index_[port];
    if (pi < 0) return std::nullopt;
    const auto a = addrs_.index_of(ip);
    if (!a) return std::nullopt;
    return *a * ports_.size() + static_cast<uint64_t>(pi);
  }

 private:
  AddressList addrs_;
  std::vector<uint16_t> ports_;
  std::vector<int32_t> port_index_;  // 65536 entries, -1 where the port is not scanned
  FastDiv port_div_;
};

using TargetSpace = IndexSpace<Ipv4Intervals>;

// Out of line in target_space.cpp for the address lists there are.
extern template class IndexSpace<Ipv4Intervals>;

}  // namespace dpscan
