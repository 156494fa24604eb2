#include "dpscan/scan_order.hpp"

#include <fmt/format.h>

#include "dpscan/error.hpp"
#include "dpscan/int128.hpp"

namespace dpscan {

ScanOrder::ScanOrder(uint64_t targets, uint32_t retries, uint64_t seed, ShardSpec shard,
                     uint32_t lcores)
    : targets_(targets), probes_(0), group_{}, shard_range_{}, lcores_(lcores) {
  const u128 probes = static_cast<u128>(targets_) * (u128{retries} + 1);
  const uint64_t most = max_space();  // the largest group's elements, 2^64 - 60
  if (probes > most) {
    throw UsageError(
        fmt::format("{} targets x {} probes each is more than the {} (2^64 - 60) "
                    "probes the scan order can walk",
                    targets_, uint64_t{retries} + 1, most));
  }
  probes_ = static_cast<uint64_t>(probes);
  if (shard.count == 0 || shard.index >= shard.count) throw UsageError("invalid shard");
  if (lcores == 0) throw UsageError("at least one TX lcore is needed");
  group_ = make_group(probes_, seed);
  shard_range_ = subshard_range(group_, shard.index, shard.count);
}

CyclicWalk ScanOrder::walk(uint32_t lcore) const {
  const u128 len = shard_range_.end - shard_range_.begin;
  const auto begin = shard_range_.begin + static_cast<uint64_t>(len * lcore / lcores_);
  const auto end = shard_range_.begin + static_cast<uint64_t>(len * (lcore + 1) / lcores_);
  return CyclicWalk(group_, probes_, begin, end);
}

}  // namespace dpscan
