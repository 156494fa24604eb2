// Targets per second from the cyclic walk plus the index -> (address, port) mapping, on one
// pinned core, for a target space whose exclusions leave many intervals.
//   walk_bench [INTERVALS] [PORTS] [SECONDS]      (defaults 2000 3 3; BENCH_CPU=1)
#include <chrono>
#include <cstdio>

#include "bench_util.hpp"
#include "dpscan/ip_set.hpp"
#include "dpscan/rng.hpp"
#include "dpscan/scan_order.hpp"
#include "dpscan/target_space.hpp"

using namespace dpscan;

int main(int argc, char** argv) {
  const unsigned holes = argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : 2000;
  const unsigned nports = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 3;
  const double secs = argc > 3 ? std::atof(argv[3]) : 3.0;
  bench::pin(bench::cpu_from_env());

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

  // In bursts of 32 through next_batch, as the TX lcore walks.
  uint64_t n = 0, sum = 0, index[32];
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  bool more = true;
  while (elapsed < secs && more) {
    for (int i = 0; i < (1 << 15) && more; ++i) {
      const unsigned k = walk.next_batch(index, 32);
      for (unsigned j = 0; j < k; ++j) {
        const Target t = space.at(order.target_index(index[j]));
        sum += t.ip.value() ^ t.port;
      }
      n += k;
      more = k == 32;
    }
    elapsed = bench::seconds_since(t0);
  }
  bench::keep(sum);
  std::printf(
      "walk_bench: intervals=%zu targets=%llu ports=%u prime=%llu walked=%llu in %.2f s: %.1f M "
      "targets/s on one core\n",
      space.address_list().interval_count(), static_cast<unsigned long long>(space.size()), nports,
      static_cast<unsigned long long>(order.group().prime), static_cast<unsigned long long>(n),
      elapsed, static_cast<double>(n) / elapsed / 1e6);
  return 0;
}
