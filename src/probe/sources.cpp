#include "dpscan/sources.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/ip6_set.hpp"
#include "dpscan/ip_set.hpp"

namespace dpscan {

template <typename A>
SourceAddressesOf<A>::SourceAddressesOf(std::vector<A> addrs) : addrs_(std::move(addrs)) {
  std::sort(addrs_.begin(), addrs_.end());
  addrs_.erase(std::unique(addrs_.begin(), addrs_.end()), addrs_.end());
  if (addrs_.empty()) throw UsageError("no source address");
  count_ = static_cast<uint32_t>(addrs_.size());
  const auto span = sources_detail::offset(addrs_.front(), addrs_.back());
  contiguous_ = span && *span + 1 == count_;
}

template class SourceAddressesOf<Ipv4Addr>;
template class SourceAddressesOf<Ipv6Addr>;

namespace {
constexpr uint64_t kMaxSources = 4096;

UsageError too_many(std::string_view spec) {
  return UsageError(
      fmt::format("--source-ip: '{}' must name 1 to {} addresses", spec, kMaxSources));
}
}  // namespace

SourceAddresses parse_sources4(std::string_view spec) {
  IpSet set;
  try {
    set.add_specs(spec);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("--source-ip: {}", e.what()));
  }
  if (set.size() == 0 || set.size() > kMaxSources) throw too_many(spec);
  std::vector<Ipv4Addr> addrs;
  for (const auto& iv : set.intervals())
    for (uint64_t a = iv.first.value(); a <= iv.last.value(); ++a)
      addrs.emplace_back(static_cast<uint32_t>(a));
  return SourceAddresses(std::move(addrs));
}

SourceAddresses6 parse_sources6(std::string_view spec) {
  Ip6Set set;
  try {
    set.add_specs(spec);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("--source-ip: {}", e.what()));
  }
  if (set.empty() || set.size() > kMaxSources) throw too_many(spec);
  std::vector<Ipv6Addr> addrs;
  for (const auto& iv : set.intervals())
    for (Ipv6Addr a = iv.first;; a = Ipv6Addr(a.hi() + (a.lo() == ~uint64_t{0}), a.lo() + 1)) {
      addrs.push_back(a);
      if (a == iv.last) break;
    }
  return SourceAddresses6(std::move(addrs));
}

}  // namespace dpscan
