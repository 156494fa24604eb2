// Resume state (masscan's paused.conf, which ZMap lacks: ZMap #27). A checkpoint names the
// plan it belongs to by a hash over everything that fixes the probe order and the cookies
// (the family and address list, the probe module and its slots, seed, cookie key, shard,
// lcores, retries), and holds each local
// subshard's walk position and probes sent. It is written atomically: a temporary file in
// the same directory, fsync, rename; a crash leaves either the old or the new file. The last
// line is a hash of the rest, so a damaged or edited file is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dpscan/cookie.hpp"
#include "dpscan/plan.hpp"
#include "dpscan/siphash.hpp"

namespace dpscan {

struct Checkpoint {
  uint64_t plan_hash = 0;
  uint64_t seed = 0;
  SipKey key{};
  CookieAlgo cookie = CookieAlgo::kSipHash;
  std::vector<uint64_t> positions;  // per local TX lcore: exponent steps walked
  std::vector<uint64_t> sent;       // per local TX lcore: probes sent (for --max-targets)
};

// The identity of an IPv4 address list (IPv6's is Ipv6Targets::identity()).
uint64_t ipv4_identity(const IpSet& addresses);
// The identity of a plan's targets whatever the seed (random IPv6 interface IDs taken with
// one fixed key), for comparing plans (a cluster's workers).
uint64_t targets_identity(const ScanPlan& plan);
uint64_t plan_identity(const ScanPlan& plan, uint64_t targets_id, uint64_t seed, const SipKey& key);

void write_checkpoint(const std::string& path, const Checkpoint& c);  // throws RuntimeError
Checkpoint read_checkpoint(const std::string& path);                  // throws UsageError
// The file's text, for a checkpoint kept elsewhere (a cluster's key-value bucket); `name`
// names it in errors.
std::string checkpoint_text(const Checkpoint& c);
Checkpoint parse_checkpoint(const std::string& text, const std::string& name);

}  // namespace dpscan
