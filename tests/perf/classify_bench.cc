// Answers validated per second on one pinned core: classify() (parse, IPv4 and TCP checksum
// verification, cookie recomputation) over a ring of valid SYN-ACK frames.
//   classify_bench [SECONDS]      (default 3; BENCH_CPU=1)
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/probe.hpp"
#include "probe/tcp_syn.hpp"

using namespace dpscan;

int main(int argc, char** argv) {
  const double secs = argc > 1 ? std::atof(argv[1]) : 3.0;
  bench::pin(bench::cpu_from_env());
  RxContext<TcpSyn<Ipv4>> ctx{};
  ctx.sources = SourceAddresses(std::vector<Ipv4Addr>{Ipv4Addr(0xc613ff02u)});
  const Ipv4Addr us = ctx.sources.first();
  ctx.cookie.set_key({0x1234, 0x5678}, std::getenv("BENCH_COOKIE")
                                           ? parse_cookie_algo(std::getenv("BENCH_COOKIE"))
                                           : parse_cookie_algo("auto"));
  constexpr size_t kFrames = 1024;
  std::vector<uint8_t> frames(kFrames * 64);
  for (size_t i = 0; i < kFrames; ++i) {
    const Ipv4Addr them(0x01000000u + static_cast<uint32_t>(i) * 2654435761u);
    const Cookie c = make_cookie(ctx.cookie, us, them, 443);
    TcpSegment s;
    s.src_mac = MacAddr({2, 0, 0, 0, 0, 2});
    s.dst_mac = MacAddr({2, 0, 0, 0, 0, 1});
    s.src = them;
    s.dst = us;
    s.sport = 443;
    s.dport = c.sport;
    s.seq = 1;
    s.ack = c.seq + 1;
    s.flags = tcp::kSyn | tcp::kAck_;
    s.window = 64240;
    s.ttl = 57;
    build_tcp_frame(&frames[i * 64], s);
  }
  uint64_t n = 0, open = 0;
  const auto t0 = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < secs) {
    for (int i = 0; i < (1 << 20); ++i, ++n) {
      const Verdict<Ipv4Addr> v =
          classify_frame<TcpSyn<Ipv4>>(&frames[(n % kFrames) * 64], 60, ctx);
      open += v.kind == Verdict<Ipv4Addr>::Kind::kResult && v.status == Status::kOpen;
    }
    elapsed = bench::seconds_since(t0);
  }
  std::printf(
      "classify_bench: %llu frames in %.2f s (%llu open): %.1f M answers/s on one core (%s "
      "cookie)\n",
      static_cast<unsigned long long>(n), elapsed, static_cast<unsigned long long>(open),
      static_cast<double>(n) / elapsed / 1e6, std::string(to_string(ctx.cookie.algo)).c_str());
  return open == n ? 0 : 1;
}
