#include "dpscan/target_space.hpp"

#include <algorithm>
#include <bit>

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/int128.hpp"
#include "dpscan/ipv6_targets.hpp"

namespace dpscan {

Ipv4Intervals::Ipv4Intervals(const IpSet& addrs) {
  if (addrs.empty()) throw UsageError("no target addresses");
  prefix_.push_back(0);
  for (const auto& iv : addrs.intervals()) {
    starts_.push_back(iv.first.value());
    lasts_.push_back(iv.last.value());
    prefix_.push_back(prefix_.back() + iv.size());
  }
  // About four buckets per interval, a power of two, at most 2^20 of them.
  const uint64_t want = std::bit_ceil(std::min<uint64_t>(4 * starts_.size(), uint64_t{1} << 20));
  const unsigned addr_bits = static_cast<unsigned>(std::bit_width(size() - 1));
  const unsigned bucket_bits = static_cast<unsigned>(std::countr_zero(want));
  bucket_shift_ = addr_bits > bucket_bits ? addr_bits - bucket_bits : 0;
  const uint64_t nbuckets = ((size() - 1) >> bucket_shift_) + 1;
  buckets_.resize(nbuckets);
  uint32_t k = 0;
  for (uint64_t b = 0; b < nbuckets; ++b) {
    const uint64_t first_addr = b << bucket_shift_;
    while (prefix_[k + 1] <= first_addr) ++k;
    buckets_[b] = k;
  }
}

std::optional<uint64_t> Ipv4Intervals::index_of(Ipv4Addr addr) const {
  const uint32_t ip = addr.value();
  auto it = std::upper_bound(starts_.begin(), starts_.end(), ip);
  if (it == starts_.begin()) return std::nullopt;
  const auto k = static_cast<size_t>(it - starts_.begin() - 1);
  if (ip > lasts_[k]) return std::nullopt;
  return prefix_[k] + (ip - starts_[k]);
}

template <typename AddressList>
IndexSpace<AddressList>::IndexSpace(AddressList addrs, std::vector<uint16_t> ports)
    : addrs_(std::move(addrs)),
      ports_(std::move(ports)),
      port_index_(65536, -1),
      port_div_(ports_.empty() ? 1 : ports_.size()) {
  if (ports_.empty()) throw UsageError("no target ports");
  if (ports_.size() > 65535) throw UsageError("more than 65535 probe slots per address");
  if (static_cast<u128>(addrs_.size()) * ports_.size() > ~uint64_t{0})
    throw UsageError(fmt::format("{} addresses x {} ports is more than 2^64 - 1 targets",
                                 addrs_.size(), ports_.size()));
  for (size_t i = ports_.size(); i-- > 0;) port_index_[ports_[i]] = static_cast<int32_t>(i);
}

template class IndexSpace<Ipv4Intervals>;
template class IndexSpace<Ipv6Targets>;

}  // namespace dpscan
