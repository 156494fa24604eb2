// dpscan-reflect's model on its own: determinism, distributions within statistical bounds,
// world files, the delay line, the ICMP rate limit, and the frames it answers with (checked
// by dpscan's own classifier, which was written against the RFCs and the Linux kernel).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <vector>

#include "delay_line.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/error.hpp"
#include "dpscan/rng.hpp"
#include "frames.hpp"
#include "probe/tcp_syn.hpp"
#include "reflect_worlds.h"
#include "world.hpp"

using namespace dpscan;
using namespace dpscan::reflect;

namespace {

World internet(uint64_t seed) {
  return World(load_world_text(kInternetWorld, "internet"), seed);
}

// |observed - n p| within 5 standard deviations of a binomial.
void check_rate(const char* what, uint64_t hits, uint64_t n, double p) {
  const double mean = static_cast<double>(n) * p;
  const double sd = std::sqrt(static_cast<double>(n) * p * (1 - p));
  CAPTURE(what);
  CAPTURE(hits);
  CAPTURE(mean);
  CHECK(std::abs(static_cast<double>(hits) - mean) <= 5 * sd + 1);
}

}  // namespace

TEST_CASE("the world is a function of the seed and the file") {
  const World a = internet(7), b = internet(7), c = internet(8);
  Rng rng(1);
  size_t differ = 0;
  for (int i = 0; i < 200000; ++i) {
    const Ipv4Addr ip(static_cast<uint32_t>(rng.next()));
    const auto port = static_cast<uint16_t>(1 + rng.next() % 65535);
    const Answer x = a.answer(ip, port), y = b.answer(ip, port), z = c.answer(ip, port);
    REQUIRE(x.fate == y.fate);
    REQUIRE(x.ttl == y.ttl);
    REQUIRE(x.window == y.window);
    REQUIRE(x.icmp_code == y.icmp_code);
    REQUIRE(a.rtt_ns(ip) == b.rtt_ns(ip));
    differ += x.fate != z.fate;
  }
  CHECK(differ > 1000);  // another seed, another world
}

TEST_CASE("the internet world's rates are the file's") {
  const World w = internet(3);
  const auto& cfg = w.config();
  // Network kinds, over 100,000 random /24s.
  Rng rng(11);
  std::vector<uint64_t> kinds(5, 0);
  const uint64_t nets = 100000;
  for (uint64_t i = 0; i < nets; ++i)
    ++kinds[static_cast<size_t>(w.kind(Ipv4Addr(static_cast<uint32_t>(rng.next()) & ~0xffu)))];
  double total = 0;
  for (const auto& n : cfg.networks) total += n.weight;
  for (const auto& n : cfg.networks)
    check_rate(std::string(to_string(n.kind)).c_str(), kinds[static_cast<size_t>(n.kind)], nets,
               n.weight / total);
  // Port 80 open, per address over 1,000,000 random addresses: hosts nets x hosts x open,
  // plus the tarpits.
  const auto& hosts = cfg.networks[1];
  REQUIRE(hosts.kind == NetKind::kHosts);
  const double tarpit = cfg.networks[3].weight / total;
  const double p80 = hosts.weight / total * hosts.hosts * 0.12 + tarpit;
  uint64_t open80 = 0, open22 = 0, rst = 0, icmp = 0;
  const uint64_t n = 1000000;
  for (uint64_t i = 0; i < n; ++i) {
    const Ipv4Addr ip(static_cast<uint32_t>(rng.next()));
    open80 += w.answer(ip, 80).fate == Fate::kSynAck;
    const Answer a22 = w.answer(ip, 22);
    open22 += a22.fate == Fate::kSynAck;
    rst += a22.fate == Fate::kRst;
    icmp += a22.fate == Fate::kIcmp;
  }
  check_rate("open 80", open80, n, p80);
  check_rate("open 22", open22, n, hosts.weight / total * hosts.hosts * 0.05 + tarpit);
  check_rate("rst 22", rst, n, hosts.weight / total * hosts.hosts * (1 - 0.05) * 0.6);
  check_rate("icmp", icmp, n, cfg.networks[4].weight / total);
  // What internet scans report: port 80 open on 1-2% of addresses, 22 lower.
  CHECK(static_cast<double>(open80) / n > 0.01);
  CHECK(static_cast<double>(open80) / n < 0.02);
  CHECK(open22 < open80);
}

TEST_CASE("dense: every probe is answered; per-network round trips stay in range") {
  const World d(load_world_text(kDenseWorld, "dense"), 5);
  Rng rng(2);
  for (int i = 0; i < 100000; ++i) {
    const Ipv4Addr ip(static_cast<uint32_t>(rng.next()));
    REQUIRE(d.answer(ip, static_cast<uint16_t>(1 + rng.next() % 65535)).fate != Fate::kSilent);
  }
  const World w = internet(5);
  for (int i = 0; i < 10000; ++i) {
    const uint64_t rtt = w.rtt_ns(Ipv4Addr(static_cast<uint32_t>(rng.next())));
    REQUIRE(rtt >= 10'000'000);
    REQUIRE(rtt <= 250'000'000);
  }
}

TEST_CASE("world files: errors at their line and column") {
  auto error = [](const std::string& text) {
    try {
      load_world_text(text, "w.yaml");
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("networks:\n  - kind: hosts\n    hosts: 1.5\n").rfind("w.yaml:3:12:", 0) == 0);
  CHECK(error("networks:\n  - kind: moon\n").rfind("w.yaml:2:11: kind 'moon'", 0) == 0);
  CHECK(error("networks:\n  - {kind: empty, colour: red}\n").rfind("w.yaml:2:19: unknown key", 0) ==
        0);
  CHECK(error("networks:\n  - kind: unreachable\n    codes: {4: 1}\n").find("ICMP code 4") !=
        std::string::npos);
  CHECK(error("world: x\n").find("no 'networks'") != std::string::npos);
  CHECK(error("networks: [\n").find("YAML syntax error") != std::string::npos);
  CHECK(error("networks:\n  - {kind: tarpit, stack: solaris}\n").find("solaris") !=
        std::string::npos);
  CHECK(error(kInternetWorld).empty());
}

TEST_CASE("the delay line hands entries over at their time, in order, within capacity") {
  const uint64_t tick = 1000;  // a simulated clock: 1000 ticks per slot
  DelayLine<int> line(8, tick, 0);
  CHECK(line.push(5500, 1));
  CHECK(line.push(2000, 2));
  CHECK(line.push(2500, 3));  // same slot as 2: after it
  CHECK(line.push(0, 4));     // due now
  std::vector<int> got;
  auto take = [&](uint64_t now) { line.pop_due(now, 100, [&](int v) { got.push_back(v); }); };
  take(0);
  CHECK(got == std::vector<int>{4});
  take(1999);
  CHECK(got == std::vector<int>{4});
  take(2000);
  CHECK(got == std::vector<int>{4, 2, 3});
  take(6000);
  CHECK(got == std::vector<int>{4, 2, 3, 1});
  // Full: push says so.
  for (int i = 0; i < 8; ++i) CHECK(line.push(7000 + static_cast<uint64_t>(i), i));
  CHECK_FALSE(line.push(7000, 99));
  CHECK(line.size() == 8);
  // At most `max` per call.
  got.clear();
  CHECK(line.pop_due(8000, 3, [&](int v) { got.push_back(v); }) == 3);
  CHECK(line.pop_due(8000, 100, [&](int v) { got.push_back(v); }) == 5);
  CHECK(got == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  // Beyond the wheel's horizon (2^16 slots): goes round, comes out at its time.
  const uint64_t far = 8000 + tick * (DelayLine<int>::kSlots + 500);
  CHECK(line.push(far, 42));
  got.clear();
  for (uint64_t t = 8000; t < far; t += tick * 1000) take(t);
  CHECK(got.empty());
  take(far);
  CHECK(got == std::vector<int>{42});
}

TEST_CASE("the ICMP rate limit: a burst, then the rate, per router") {
  const uint64_t hz = 1'000'000;
  RateLimiter r(1000, 50, hz);  // Linux's icmp_msgs_per_sec, icmp_msgs_burst
  int allowed = 0;
  for (int i = 0; i < 200; ++i) allowed += r.allow(7, 0);
  CHECK(allowed == 50);
  allowed = 0;
  for (uint64_t t = 1; t <= hz; t += 100) allowed += r.allow(7, t);  // 10,000 tries in 1 s
  CHECK(allowed >= 990);
  CHECK(allowed <= 1010);
  CHECK(r.allow(8, hz));  // another router has its own bucket
  RateLimiter off(0, 0, hz);
  for (int i = 0; i < 1000; ++i) REQUIRE(off.allow(7, 0));
}

TEST_CASE("an ICMP unreachable from the reflector is our probe's, to dpscan's classifier") {
  RxContext<TcpSyn<Ipv4>> ctx{};
  ctx.sources = SourceAddresses(std::vector<Ipv4Addr>{Ipv4Addr(0xc613ff02u)});
  ctx.cookie.set_key({0x99, 0x77}, CookieAlgo::kSipHash);
  const Ipv4Addr us(0xc613ff02u), them(0xc6120105u);
  const Cookie c = make_cookie(ctx.cookie, us, them, 443);
  ProbeEcho e;
  e.scanner = us;
  e.target = them;
  e.sport = c.sport;
  e.tport = 443;
  e.seq = c.seq;
  e.ip_id = c.ip_id;
  e.ip_len = 52;
  e.ttl = 60;
  for (uint8_t code : {0, 1, 3, 13}) {
    uint8_t f[128];
    const size_t n =
        build_icmp_unreachable(f, MacAddr({2, 0, 0, 0, 0, 1}), MacAddr({2, 0, 0, 0, 0, 2}),
                               Ipv4Addr(0xc6120101u), code, 64, e);
    CHECK(n == 70);
    const Verdict<Ipv4Addr> v = classify_frame<TcpSyn<Ipv4>>(f, n, ctx);
    REQUIRE(v.kind == Verdict<Ipv4Addr>::Kind::kResult);
    CHECK(v.status == Status::kUnreachable);
    CHECK(v.ip == them);
    CHECK(v.port == 443);
    CHECK(v.icmp_code == code);
  }
  // A SYN-ACK with a stack's options, as the reflector builds it, is open to the classifier.
  TcpSegment s;
  s.src_mac = MacAddr({2, 0, 0, 0, 0, 1});
  s.dst_mac = MacAddr({2, 0, 0, 0, 0, 2});
  s.src = them;
  s.dst = us;
  s.sport = 443;
  s.dport = c.sport;
  s.seq = 777;
  s.ack = c.seq + 1;
  s.flags = tcp::kSyn | tcp::kAck_;
  s.window = 64240;
  for (OptionProfile p : {OptionProfile::kNone, OptionProfile::kWindows, OptionProfile::kLinux,
                          OptionProfile::kBsd}) {
    s.options = p;
    uint8_t f[128];
    const size_t n = build_tcp_frame(f, s);
    const Verdict<Ipv4Addr> v = classify_frame<TcpSyn<Ipv4>>(f, n, ctx);
    REQUIRE(v.kind == Verdict<Ipv4Addr>::Kind::kResult);
    CHECK(v.status == Status::kOpen);
    CHECK(v.window == 64240);
  }
}
