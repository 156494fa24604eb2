// Probes built per second on one pinned core: walk, target mapping, cookie (SipHash-2-4),
// template patch and both checksums, into a ring of frame buffers (no device).
//   probe_bench [SECONDS]      (default 3; BENCH_CPU=1)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "dpscan/cookie.hpp"
#include "dpscan/ip_set.hpp"
#include "dpscan/probe.hpp"
#include "dpscan/scan_order.hpp"
#include "probe/probe_batch.hpp"

using namespace dpscan;

int main(int argc, char** argv) {
  const double secs = argc > 1 ? std::atof(argv[1]) : 3.0;
  bench::pin(bench::cpu_from_env());
  IpSet all;
  all.add({0, 0xffffffffu});
  const TargetSpace space(all.minus(default_blocklist()), {22, 80, 443});
  const ScanOrder order(space.size(), 0, 7, {}, 1);
  CyclicWalk walk = order.walk(0);
  ProbeConfig pc;
  const ProbeTemplate tmpl(pc);
  const SourceAddresses sources({Ipv4Addr(0xc613ff02u)});
  CookieParams cookie;
  cookie.set_key({0x0123456789abcdefULL, 0x0fedcba987654321ULL},
                 std::getenv("BENCH_COOKIE") ? parse_cookie_algo(std::getenv("BENCH_COOKIE"))
                                             : parse_cookie_algo("auto"));
  constexpr size_t kFrames = 512;  // like a TX ring's worth of mbufs
  std::vector<uint8_t> frames(kFrames * 128);
  for (size_t i = 0; i < kFrames; ++i) tmpl.fill(&frames[i * 128]);

  uint8_t* ptrs[kFrames];
  for (size_t i = 0; i < kFrames; ++i) ptrs[i] = &frames[i * 128];
  uint64_t n = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  bool more = true;
  while (elapsed < secs && more) {
    for (int i = 0; i < (1 << 15) && more; ++i) {
      const unsigned k = build_probe_batch<Ipv4>(walk, order, space, tmpl, cookie, sources,
                                                 &ptrs[(n / 32 % (kFrames / 32)) * 32], 32);
      n += k;
      more = k == 32;
    }
    elapsed = bench::seconds_since(t0);
  }
  bench::keep(frames);
  std::printf(
      "probe_bench: built %llu probes in %.2f s: %.1f M probes/s on one core (%zu-byte frames, %s "
      "cookie)\n",
      static_cast<unsigned long long>(n), elapsed, static_cast<double>(n) / elapsed / 1e6,
      tmpl.size(), std::string(to_string(cookie.algo)).c_str());
  return 0;
}
