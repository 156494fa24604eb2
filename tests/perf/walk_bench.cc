// Targets per second from the cyclic walk plus the index -> (address, port) mapping, on one
// pinned core, for a target space whose exclusions leave many intervals.
//   walk_bench [INTERVALS] [PORTS] [SECONDS]      (defaults 2000 3 3; BENCH_CPU=1)
// With WALK_SPACE=N (a number, or 2^K, 2^K+M, 2^K-M) it walks a bare probe space of N indices
// instead (the walk alone, no mapping): above 2^52 - 1 that is the scalar step with 128-bit
// products, below it the AVX-512 IFMA lanes where the CPU has them (WALK_SCALAR=1 forces the
// scalar step). Spaces up to 2^64 - 60.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "bench_util.hpp"
#include "dpscan/ip_set.hpp"
#include "dpscan/rng.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/target_space.hpp"

using namespace dpscan;

namespace {

// "N", "2^K", "2^K+M" or "2^K-M".
uint64_t parse_space(const std::string& s) {
  if (s.rfind("2^", 0) != 0) return std::stoull(s);
  size_t used = 0;
  const unsigned k = static_cast<unsigned>(std::stoul(s.substr(2), &used));
  const uint64_t base = k >= 64 ? 0 : uint64_t{1} << k;  // 2^64 wraps: 2^64-M works
  const std::string rest = s.substr(2 + used);
  if (rest.empty()) return base;
  const uint64_t m = std::stoull(rest.substr(1));
  return rest[0] == '-' ? base - m : base + m;
}

// Walks in bursts of 32 through next_batch, as the TX lcore does, for `secs` seconds or to the
// walk's end, handing each index to use(index). Returns {indices walked, seconds}.
template <typename Use>
std::pair<uint64_t, double> timed_walk(CyclicWalk& walk, double secs, Use use) {
  uint64_t n = 0, index[32];
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  bool more = true;
  while (elapsed < secs && more) {
    for (int i = 0; i < (1 << 15) && more; ++i) {
      const unsigned k = walk.next_batch(index, 32);
      for (unsigned j = 0; j < k; ++j) use(index[j]);
      n += k;
      more = k == 32;
    }
    elapsed = bench::seconds_since(t0);
  }
  return {n, elapsed};
}

// The walk alone over a probe space of `space` indices.
int bare_walk(uint64_t space, double secs) {
  const ScanOrder order(space, 0, 42, {}, 1);
  CyclicWalk walk = order.walk(0);
  if (const char* s = std::getenv("WALK_SCALAR"); s && std::atoi(s) != 0)
    walk.set_vector_lanes(false);
  uint64_t sum = 0;
  const auto [n, elapsed] = timed_walk(walk, secs, [&](uint64_t i) { sum += i; });
  bench::keep(sum);
  std::printf(
      "walk_bench: bare walk space=%llu prime=%llu lanes=%s walked=%llu in %.2f s: %.1f M "
      "indices/s on one core\n",
      static_cast<unsigned long long>(space), static_cast<unsigned long long>(order.group().prime),
      walk.vector_lanes() ? "ifma" : "scalar", static_cast<unsigned long long>(n), elapsed,
      static_cast<double>(n) / elapsed / 1e6);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const unsigned holes = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2000;
  const unsigned nports = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 3;
  const double secs = argc > 3 ? std::atof(argv[3]) : 3.0;
  bench::pin(bench::cpu_from_env());
  if (const char* s = std::getenv("WALK_SPACE")) return bare_walk(parse_space(s), secs);

  // All of IPv4 minus the default blocklist and `holes` random /20 exclusions.
  IpSet all, ex;
  all.add({0, 0xffffffffu});
  ex.add(default_blocklist());
  Rng rng(1);
  for (unsigned i = 0; i < holes; ++i) {
    const auto base = static_cast<uint32_t>(rng.next()) & 0xfffff000u;
    ex.add({base, base | 0xfffu});
  }
  std::vector<uint16_t> ports;
  for (unsigned p = 0; p < nports; ++p) ports.push_back(static_cast<uint16_t>(80 + p));
  const TargetSpace space(all.minus(ex), ports);
  const ScanOrder order(space.size(), 0, 42, {}, 1);
  CyclicWalk walk = order.walk(0);

  uint64_t sum = 0;
  const auto [n, elapsed] = timed_walk(walk, secs, [&](uint64_t i) {
    const Target t = space.at(order.target_index(i));
    sum += t.ip.value() ^ t.port;
  });
  bench::keep(sum);
  std::printf(
      "walk_bench: intervals=%zu targets=%llu ports=%u prime=%llu walked=%llu in %.2f s: %.1f M "
      "targets/s on one core\n",
      space.address_list().interval_count(), static_cast<unsigned long long>(space.size()), nports,
      static_cast<unsigned long long>(order.group().prime), static_cast<unsigned long long>(n),
      elapsed, static_cast<double>(n) / elapsed / 1e6);
  return 0;
}
