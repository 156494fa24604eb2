// The scan's index space (docs/design.md, decision 1). With A addresses and P probe slots,
// index i in [0, A*P) names the pair
//     address = the (i / P)-th address of the address list, slot = i % P,
// and a slot is a port (TCP: each port once; UDP: a port once per payload sent to it).
// Both directions are cheap: at() is on the per-probe TX path, index_of() on the RX path
// (deduplication). The address list is the family's (family.hpp): Ipv4Intervals (sorted
// disjoint intervals, targets minus exclusions) or Ipv6Targets (intervals, prefix
// generators and hitlists); each has size, at, index_of, and ScanOrder and Dedup work on
// indices.
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
  uint16_t slot = 0;  // index into the space's slots (the port's, or the port and payload)
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

  // slots: the port of each probe slot (a port may repeat: one slot per UDP payload).
  // Throws UsageError when there are no addresses or no slots, or more than 2^64 - 1 targets.
  IndexSpace(AddressList addresses, std::vector<uint16_t> slots);

  uint64_t addresses() const { return addrs_.size(); }
  const AddressList& address_list() const { return addrs_; }
  // The port of each slot (TCP and ICMP: the scan's ports, each once).
  const std::vector<uint16_t>& ports() const { return ports_; }
  uint64_t size() const { return addresses() * ports_.size(); }

  // Precondition: index < size().
  TargetType at(uint64_t index) const {
    const uint64_t addr_index = port_div_.div(index);
    const uint64_t slot = index - addr_index * ports_.size();
    return {addrs_.at(addr_index), ports_[slot], static_cast<uint16_t>(slot)};
  }
  // A hint that at(index) comes soon (a hitlist's element may be far from the cache).
  void prefetch(uint64_t index) const {
    if constexpr (requires { addrs_.prefetch(index); }) addrs_.prefetch(port_div_.div(index));
  }

  // The index of (address, the port's first slot).
  std::optional<uint64_t> index_of(Addr ip, uint16_t port) const {
    const int32_t pi = port_index_[port];
    if (pi < 0) return std::nullopt;
    return index_at(ip, static_cast<uint16_t>(pi));
  }
  // The index of (address, slot); precondition: slot < ports().size().
  std::optional<uint64_t> index_at(Addr ip, uint16_t slot) const {
    const auto a = addrs_.index_of(ip);
    if (!a) return std::nullopt;
    return *a * ports_.size() + slot;
  }

 private:
  AddressList addrs_;
  std::vector<uint16_t> ports_;
  std::vector<int32_t> port_index_;  // 65536 entries: a port's first slot, -1 if not scanned
  FastDiv port_div_;
};

using TargetSpace = IndexSpace<Ipv4Intervals>;

// Out of line in target_space.cpp for the address lists there are.
extern template class IndexSpace<Ipv4Intervals>;

}  // namespace dpscan
