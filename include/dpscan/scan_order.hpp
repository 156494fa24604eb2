// Which probes this process sends and in which order: the probe space (targets x retries),
// the cyclic group fixed by the seed, and the split of the group's exponent range first into
// machine shards (--shard I/N) and then into this machine's TX lcores. Each (shard, lcore)
// subshard is a contiguous exponent range walked on its own; the union over all shards and
// lcores is every probe exactly once.
//
// Retries (--retries R) are copies of the index space: probe index j in [0, N*(R+1)) is
// target j mod N. The permutation spreads the R+1 probes of a target over the whole scan,
// so they are never back to back, and a target gets exactly R+1 probes (masscan #574 sent
// (R+1)^2). The cookie does not depend on the copy, so any copy's answer validates.
#pragma once

#include <cstdint>
#include <vector>

#include "dpscan/cyclic.hpp"

namespace dpscan {

struct ShardSpec {
  uint32_t index = 0;  // 0-based (the command line's --shard is 1-based)
  uint32_t count = 1;
};

class ScanOrder {
 public:
  // targets: the index space's size (IndexSpace::size()). Throws UsageError when the probes
  // (targets x (retries + 1)) are more than the largest cyclic group walks (max_space(),
  // 2^64 - 60).
  ScanOrder(uint64_t targets, uint32_t retries, uint64_t seed, ShardSpec shard, uint32_t lcores);

  uint64_t probes() const { return probes_; }  // over all shards
  uint32_t lcores() const { return lcores_; }
  const CyclicGroup& group() const { return group_; }

  // The walk of one local lcore's subshard, over probe indices.
  CyclicWalk walk(uint32_t lcore) const;

  uint64_t targets() const { return targets_; }

  // Probe index -> target index (IndexSpace::at).
  uint64_t target_index(uint64_t probe_index) const {
    while (probe_index >= targets_) probe_index -= targets_;  // at most `retries` steps
    return probe_index;
  }

 private:
  uint64_t targets_;
  uint64_t probes_;
  CyclicGroup group_;
  ExponentRange shard_range_;
  uint32_t lcores_;
};

}  // namespace dpscan
