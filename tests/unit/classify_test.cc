#include <doctest/doctest.h>

#include <vector>

#include "dpscan/classify.hpp"
#include "dpscan/probe.hpp"
#include "probe/tcp_syn.hpp"

using namespace dpscan;

namespace {

constexpr Ipv4Addr kUs(0xc613ff02u);    // 198.19.255.2
constexpr Ipv4Addr kThem(0xc6120011u);  // 198.18.0.17
const MacAddr kMacA({2, 0, 0, 0, 0, 1}), kMacB({2, 0, 0, 0, 0, 2});

Ipv4Addr plus(Ipv4Addr a, uint32_t n) {
  return Ipv4Addr(a.value() + n);
}

CookieAlgo g_algo = CookieAlgo::kSipHash;  // the classify tests run once per PRF

using Module = TcpSyn<Ipv4>;
using Rx4 = RxContext<Module>;
using Verdict4 = Verdict<Ipv4Addr>;

Verdict4 classify(const uint8_t* f, size_t len, const Rx4& c, CsumHints h = {}) {
  return classify_frame<Module>(f, len, c, h);
}

Rx4 ctx() {
  Rx4 c{};
  c.sources = SourceAddresses({kUs, plus(kUs, 1), plus(kUs, 7)});
  c.cookie.set_key({0x1111, 0x2222}, g_algo);
  return c;
}

// The answer a target's TCP stack would send to our probe.
std::vector<uint8_t> answer(uint8_t flags, int ack_delta, int sport_delta = 0, Ipv4Addr dst = kUs) {
  const Cookie c = make_cookie(ctx().cookie, kUs, kThem, 443);
  std::vector<uint8_t> f(60, 0);  // 54 + Ethernet padding
  TcpSegment s;
  s.src_mac = kMacB;
  s.dst_mac = kMacA;
  s.src = kThem;
  s.dst = dst;
  s.sport = 443;
  s.dport = static_cast<uint16_t>(c.sport + sport_delta);
  s.seq = 12345;
  s.ack = c.seq + static_cast<uint32_t>(ack_delta);
  s.flags = flags;
  s.window = 29200;
  s.ip_id = 1;
  s.ttl = 57;
  build_tcp_frame(f.data(), s);
  return f;
}

}  // namespace

TEST_CASE("SYN-ACK with the cookie is open, RST is closed") {
  for (auto algo : {CookieAlgo::kSipHash, CookieAlgo::kAes}) {
    if (algo == CookieAlgo::kAes && !cpu_has_aes()) continue;
    g_algo = algo;
    CAPTURE(to_string(algo));
    auto f = answer(tcp::kSyn | tcp::kAck_, 1);
    Verdict4 v = classify(f.data(), f.size(), ctx());
    REQUIRE(v.kind == Verdict4::Kind::kResult);
    CHECK(v.status == Status::kOpen);
    CHECK(v.ip == kThem);
    CHECK(v.port == 443);
    CHECK(v.ttl == 57);
    CHECK(v.window == 29200);

    f = answer(tcp::kRst | tcp::kAck_, 1);
    v = classify(f.data(), f.size(), ctx());
    REQUIRE(v.kind == Verdict4::Kind::kResult);
    CHECK(v.status == Status::kClosed);
    f = answer(tcp::kRst, 0);
    CHECK(classify(f.data(), f.size(), ctx()).status == Status::kClosed);
  }
  g_algo = CookieAlgo::kSipHash;
}

TEST_CASE("forged or stray answers are dropped with a reason") {
  auto f = answer(tcp::kSyn | tcp::kAck_, 2);
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kBadCookie);
  f = answer(tcp::kSyn | tcp::kAck_, 1, 1);
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kBadCookie);
  f = answer(tcp::kSyn | tcp::kAck_, 1, 0, plus(kUs, 2));  // not one of our addresses
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kNotForUs);
  f = answer(tcp::kSyn | tcp::kAck_, 1, 0, plus(kUs, 1));  // ours, but the cookie was for kUs
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kBadCookie);
  f = answer(tcp::kAck_, 1);
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kTcpFlags);
  f = answer(tcp::kSyn | tcp::kAck_, 1);
  f[50] ^= 0xff;  // corrupt the TCP checksum
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kTcpChecksum);
  f = answer(tcp::kSyn | tcp::kAck_, 1);
  f[24] ^= 0x01;  // IPv4 checksum
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kIpChecksum);
  f = answer(tcp::kSyn | tcp::kAck_, 1);
  CHECK(classify(f.data(), 40, ctx()).drop == Drop::kTruncated);
  f[12] = 0x86, f[13] = 0xdd;  // IPv6 reaching an IPv4 scan
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kOtherFamily);
  f[12] = 0x88, f[13] = 0xcc;  // LLDP
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kNotIp);
}

TEST_CASE("VLAN-tagged answers are classified") {
  auto f = answer(tcp::kSyn | tcp::kAck_, 1);
  std::vector<uint8_t> tagged(f.begin(), f.begin() + 12);
  tagged.insert(tagged.end(), {0x81, 0x00, 0x00, 0x05});
  tagged.insert(tagged.end(), f.begin() + 12, f.end());
  const Verdict4 v = classify(tagged.data(), tagged.size(), ctx());
  REQUIRE(v.kind == Verdict4::Kind::kResult);
  CHECK(v.status == Status::kOpen);
}

TEST_CASE("ICMP port unreachable quoting our probe is unreachable") {
  ProbeConfig pc;
  const ProbeTemplate t(pc);
  std::vector<uint8_t> probe(t.size());
  t.fill(probe.data());
  t.patch(probe.data(), kUs, kThem, 443, make_cookie(ctx().cookie, kUs, kThem, 443));
  // Ethernet + IPv4(20) + ICMP(8) + quoted IPv4 header(20) + 8 bytes of TCP
  std::vector<uint8_t> f(14 + 20 + 8 + 28, 0);
  f[12] = 0x08;
  uint8_t* ip = f.data() + 14;
  ip[0] = 0x45;
  store_be16(ip + 2, 56);
  ip[8] = 64;
  ip[9] = 1;
  store_be32(ip + 12, kThem.value());
  store_be32(ip + 16, kUs.value());
  store_be16(ip + 10, checksum_fold(checksum_add(0, ip, 20)));
  uint8_t* icmp = ip + 20;
  icmp[0] = 3;
  icmp[1] = 3;
  std::memcpy(icmp + 8, probe.data() + 14, 28);
  store_be16(icmp + 2, checksum_fold(checksum_add(0, icmp, 36)));
  Verdict4 v = classify(f.data(), f.size(), ctx());
  REQUIRE(v.kind == Verdict4::Kind::kResult);
  CHECK(v.status == Status::kUnreachable);
  CHECK(v.ip == kThem);
  CHECK(v.port == 443);

  icmp[1] = 4;  // fragmentation needed: not counted as unreachable
  store_be16(icmp + 2, 0);
  store_be16(icmp + 2, checksum_fold(checksum_add(0, icmp, 36)));
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kIcmpOther);
}

TEST_CASE("every prefix of a valid answer is handled without reading past it") {
  const auto f = answer(tcp::kSyn | tcp::kAck_, 1);
  for (size_t len = 0; len < f.size(); ++len) {
    std::vector<uint8_t> cut(f.begin(),
                             f.begin() + static_cast<long>(len));  // exact-size buffer for ASan
    const Verdict4 v = classify(cut.data(), cut.size(), ctx());
    if (len < 54) CHECK(v.kind == Verdict4::Kind::kDrop);
  }
}

namespace {

// The partial checksum a Linux stack leaves for offload, computed here word by word from the
// RFC 793 pseudo-header (not with the library's checksum helpers): source, destination,
// protocol 6, TCP length, summed with end-around carry, not complemented.
uint16_t linux_partial(Ipv4Addr src_addr, Ipv4Addr dst_addr, uint16_t tcp_len) {
  const uint32_t src = src_addr.value(), dst = dst_addr.value();
  uint32_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + tcp_len;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

std::vector<uint8_t> with_tcp_checksum(std::vector<uint8_t> f, uint16_t v) {
  f[50] = static_cast<uint8_t>(v >> 8);
  f[51] = static_cast<uint8_t>(v);
  return f;
}

Rx4 ctx_mode(RxChecksum m) {
  Rx4 c = ctx();
  c.checksum = m;
  return c;
}

}  // namespace

TEST_CASE("partial (offload) TCP checksums: accepted in auto mode only, cookie still decides") {
  const uint16_t partial = linux_partial(kThem, kUs, 20);
  auto f = with_tcp_checksum(answer(tcp::kSyn | tcp::kAck_, 1), partial);
  Verdict4 v = classify(f.data(), f.size(), ctx());
  REQUIRE(v.kind == Verdict4::Kind::kResult);
  CHECK(v.status == Status::kOpen);
  CHECK(v.csum_partial);
  CHECK_FALSE(v.csum_device);
  // A complete, correct checksum is not counted as partial.
  f = answer(tcp::kSyn | tcp::kAck_, 1);
  CHECK_FALSE(classify(f.data(), f.size(), ctx()).csum_partial);
  // Partial, but not our cookie: the cookie is the authority.
  f = with_tcp_checksum(answer(tcp::kSyn | tcp::kAck_, 2), partial);
  CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kBadCookie);
  // The partial value of another length or another address is neither correct nor partial.
  for (uint16_t wrong : {linux_partial(kThem, kUs, 24), linux_partial(plus(kThem, 1), kUs, 20),
                         static_cast<uint16_t>(partial ^ 1), static_cast<uint16_t>(~partial)}) {
    f = with_tcp_checksum(answer(tcp::kSyn | tcp::kAck_, 1), wrong);
    CHECK(classify(f.data(), f.size(), ctx()).drop == Drop::kTcpChecksum);
  }
  // verify: complete checksums only; trust: none checked.
  f = with_tcp_checksum(answer(tcp::kSyn | tcp::kAck_, 1), partial);
  CHECK(classify(f.data(), f.size(), ctx_mode(RxChecksum::kVerify)).drop == Drop::kTcpChecksum);
  f = with_tcp_checksum(answer(tcp::kSyn | tcp::kAck_, 1), 0x1234);
  CHECK(classify(f.data(), f.size(), ctx_mode(RxChecksum::kTrust)).kind == Verdict4::Kind::kResult);
  f[24] ^= 0x01;  // the IPv4 checksum too
  CHECK(classify(f.data(), f.size(), ctx_mode(RxChecksum::kTrust)).kind == Verdict4::Kind::kResult);
}

TEST_CASE("the device's checksum flags are used in auto mode and ignored in verify mode") {
  auto bad = with_tcp_checksum(answer(tcp::kSyn | tcp::kAck_, 1), 0x1234);
  auto good = answer(tcp::kSyn | tcp::kAck_, 1);
  const CsumHints l4_good{CsumFlag::kUnknown, CsumFlag::kGood};
  const CsumHints l4_bad{CsumFlag::kUnknown, CsumFlag::kBad};
  const CsumHints l4_none{CsumFlag::kUnknown, CsumFlag::kNone};
  // GOOD: not recomputed (a wrong field passes: the device checked the frame it received).
  Verdict4 v = classify(bad.data(), bad.size(), ctx(), l4_good);
  REQUIRE(v.kind == Verdict4::Kind::kResult);
  CHECK(v.csum_device);
  // BAD: dropped, even if the bytes look right to us.
  CHECK(classify(good.data(), good.size(), ctx(), l4_bad).drop == Drop::kTcpChecksum);
  // NONE: intact data, field never filled in: accepted and counted as partial.
  v = classify(bad.data(), bad.size(), ctx(), l4_none);
  REQUIRE(v.kind == Verdict4::Kind::kResult);
  CHECK(v.csum_partial);
  // verify ignores the device.
  CHECK(classify(bad.data(), bad.size(), ctx_mode(RxChecksum::kVerify), l4_good).drop ==
        Drop::kTcpChecksum);
  CHECK(classify(good.data(), good.size(), ctx_mode(RxChecksum::kVerify), l4_bad).kind ==
        Verdict4::Kind::kResult);
  // The IPv4 header: GOOD skips, BAD drops.
  auto ipbad = answer(tcp::kSyn | tcp::kAck_, 1);
  ipbad[24] ^= 0x01;
  CHECK(classify(ipbad.data(), ipbad.size(), ctx(), {CsumFlag::kGood, CsumFlag::kUnknown}).kind ==
        Verdict4::Kind::kResult);
  CHECK(classify(good.data(), good.size(), ctx(), {CsumFlag::kBad, CsumFlag::kUnknown}).drop ==
        Drop::kIpChecksum);
}
