#include "dpscan/sources.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/ip_set.hpp"

namespace dpscan {

SourceAddresses::SourceAddresses(std::vector<Ipv4Addr> addrs) : addrs_(std::move(addrs)) {
  std::sort(addrs_.begin(), addrs_.end());
  addrs_.erase(std::unique(addrs_.begin(), addrs_.end()), addrs_.end());
  if (addrs_.empty()) throw UsageError("no source address");
  first_ = addrs_.front().value();
  count_ = static_cast<uint32_t>(addrs_.size());
  contiguous_ = addrs_.back().value() - first_ + 1 == count_;
}

SourceAddresses SourceAddresses::parse(std::string_view spec) {
  IpSet set;
  try {
    set.add_specs(spec);
  } catch (const UsageError& e) {
    throw UsageError(fmt::format("--source-ip: {}", e.what()));
  }
  if (set.size() == 0 || set.size() > 4096) {
    throw UsageError(fmt::format("--source-ip: '{}' must name 1 to 4096 addresses", spec));
  }
  std::vector<Ipv4Addr> addrs;
  for (const auto& iv : set.intervals())
    for (uint64_t a = iv.first.value(); a <= iv.last.value(); ++a)
      addrs.emplace_back(static_cast<uint32_t>(a));
  return SourceAddresses(std::move(addrs));
}

}  // namespace dpscan
