#include <doctest/doctest.h>

#include <vector>

#include "dpscan/error.hpp"
#include "dpscan/probe.hpp"

using namespace dpscan;

namespace {

ProbeConfig config(OptionProfile p) {
  ProbeConfig c;
  c.src_mac = MacAddr({2, 0, 0, 0, 0, 1});
  c.dst_mac = MacAddr({2, 0, 0, 0, 0, 2});
  c.options = p;
  return c;
}

// Full (non-incremental) checksum verification: summing a header with its checksum gives 0.
bool ip_ok(const uint8_t* f) {
  return checksum_fold(checksum_add(0, f + 14, 20)) == 0;
}
bool tcp_ok(const uint8_t* f, size_t len) {
  const uint8_t* ip = f + 14;
  const auto tcp_len = static_cast<uint16_t>(len - 34);
  return checksum_fold(
             checksum_add(pseudo_header_sum(load_be32(ip + 12), load_be32(ip + 16), 6, tcp_len),
                          f + 34, tcp_len)) == 0;
}

}  // namespace

TEST_CASE("frame sizes of the option profiles (ZMap 4's: 54, 58, 66, 74, 78 bytes)") {
  CHECK(ProbeTemplate(config(OptionProfile::kNone)).size() == 54);
  CHECK(ProbeTemplate(config(OptionProfile::kMss)).size() == 58);
  CHECK(ProbeTemplate(config(OptionProfile::kWindows)).size() == 66);
  CHECK(ProbeTemplate(config(OptionProfile::kLinux)).size() == 74);
  CHECK(ProbeTemplate(config(OptionProfile::kBsd)).size() == 78);
  CHECK(parse_option_profile("windows") == OptionProfile::kWindows);
  CHECK_THROWS_AS(parse_option_profile("solaris"), UsageError);
}

TEST_CASE("patched probes carry the fields and valid checksums") {
  for (auto profile : {OptionProfile::kNone, OptionProfile::kMss, OptionProfile::kWindows,
                       OptionProfile::kLinux, OptionProfile::kBsd}) {
    const ProbeTemplate t(config(profile));
    std::vector<uint8_t> f(t.size());
    t.fill(f.data());
    for (uint32_t i = 0; i < 2000; ++i) {
      const uint32_t dst = 0xc6120000u + i * 2654435761u % 65536;
      const auto port = static_cast<uint16_t>(1 + i * 40503 % 65535);
      const Cookie c{i * 0x9e3779b9u, static_cast<uint16_t>(32768 + i % 32768),
                     static_cast<uint16_t>(i * 7)};
      const uint32_t src = 0xc613ff02u + (i & 3);
      t.patch(f.data(), Ipv4Addr(src), Ipv4Addr(dst), port, c);
      CHECK(load_be32(f.data() + 26) == src);
      REQUIRE(ip_ok(f.data()));
      REQUIRE(tcp_ok(f.data(), f.size()));
      CHECK(load_be32(f.data() + 30) == dst);
      CHECK(load_be16(f.data() + 36) == port);
      CHECK(load_be16(f.data() + 34) == c.sport);
      CHECK(load_be32(f.data() + 38) == c.seq);
      CHECK(load_be16(f.data() + 18) == c.ip_id);
      CHECK(f[47] == tcp::kSyn);
    }
  }
}

TEST_CASE("windows profile option bytes") {
  const ProbeTemplate t(config(OptionProfile::kWindows));
  const uint8_t want[12] = {2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2};
  CHECK(std::memcmp(t.bytes() + 54, want, 12) == 0);
  CHECK((t.bytes()[46] >> 4) == 8);  // data offset: 32 bytes
}

TEST_CASE("control TCP frames have valid checksums") {
  uint8_t f[64];
  TcpSegment s;
  s.src_mac = MacAddr({1, 2, 3, 4, 5, 6});
  s.dst_mac = MacAddr({6, 5, 4, 3, 2, 1});
  s.src = Ipv4Addr(0xc613ff02u);
  s.dst = Ipv4Addr(0xc6120005u);
  s.sport = 40000;
  s.dport = 80;
  s.seq = 0xdeadbeef;
  s.flags = tcp::kRst;
  s.ip_id = 7;
  const size_t n = build_tcp_frame(f, s);
  CHECK(n == 54);
  CHECK(ip_ok(f));
  CHECK(tcp_ok(f, n));
}

TEST_CASE("checksum_add equals a plain big-endian 16-bit word sum") {
  // Reference: RFC 1071's definition, one big-endian word at a time, folded at the end.
  auto reference = [](const uint8_t* p, size_t len) {
    uint64_t s = 0;
    for (size_t i = 0; i + 1 < len; i += 2) s += (uint32_t{p[i]} << 8) | p[i + 1];
    if (len & 1) s += uint32_t{p[len - 1]} << 8;
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s & 0xffff);
  };
  uint32_t x = 1;
  std::vector<uint8_t> buf(1500);
  for (auto& b : buf) b = static_cast<uint8_t>((x = x * 1103515245 + 12345) >> 16);
  for (size_t len = 0; len < 200; ++len) {
    for (size_t off = 0; off < 4; ++off) {
      CAPTURE(len);
      REQUIRE(checksum_fold(checksum_add(0, buf.data() + off, len)) ==
              reference(buf.data() + off, len));
    }
  }
  std::vector<uint8_t> ones(1500, 0xff);
  CHECK(checksum_fold(checksum_add(0, ones.data(), ones.size())) ==
        reference(ones.data(), ones.size()));
}
