// The AVX-512 probe path against the scalar one (ProbeTemplate::patch with
// cookie_hash_aes): byte-for-byte the same frames, for every option profile, one or several
// source addresses, narrow and full source-port ranges, and partial groups of sixteen.
// (The scalar frames are checked independently by scapy and tshark in golden_frames.py.)
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "dpscan/ip_set.hpp"
#include "probe/probe_batch.hpp"

using namespace dpscan;

namespace {

constexpr size_t kStride = 128;

struct Frames {
  std::vector<uint8_t> bytes;
  std::vector<uint8_t*> ptrs;
  Frames(const ProbeTemplate& t, size_t n) : bytes(n * kStride, 0xa5), ptrs(n) {
    for (size_t i = 0; i < n; ++i) {
      ptrs[i] = &bytes[i * kStride];
      t.fill(ptrs[i]);
    }
  }
};

}  // namespace

TEST_CASE("the AVX-512 probe path writes the scalar path's bytes") {
  if (!avx512_probes()) {
    MESSAGE("this CPU has no AVX-512/VAES: only the scalar path exists here");
    return;
  }
  std::mt19937_64 rng(2026);
  for (OptionProfile profile : {OptionProfile::kNone, OptionProfile::kMss, OptionProfile::kWindows,
                                OptionProfile::kLinux, OptionProfile::kBsd}) {
    ProbeConfig pc;
    std::array<uint8_t, 6> mac{};
    for (auto& b : mac) b = static_cast<uint8_t>(rng());
    pc.src_mac = MacAddr(mac);
    for (auto& b : mac) b = static_cast<uint8_t>(rng());
    pc.dst_mac = MacAddr(mac);
    pc.options = profile;
    pc.ttl = static_cast<uint8_t>(rng());
    pc.window = static_cast<uint16_t>(rng());
    const ProbeTemplate tmpl(pc);
    for (auto [first, count] :
         {std::pair<uint16_t, uint32_t>{32768, 32768}, {40000, 10}, {0, 65536}, {65535, 1}}) {
      CookieParams cookie;
      cookie.set_key({rng(), rng()}, CookieAlgo::kAes);
      cookie.sport_first = first;
      cookie.sport_count = count;
      for (int round = 0; round < 40; ++round) {
        const unsigned n = 1 + static_cast<unsigned>(rng() % kMaxProbeBatch);
        CAPTURE(to_string(profile));
        CAPTURE(first);
        CAPTURE(n);
        alignas(64) uint32_t src[kMaxProbeBatch] = {}, dst[kMaxProbeBatch] = {};
        alignas(64) uint16_t dport[kMaxProbeBatch] = {};
        for (unsigned i = 0; i < n; ++i) {
          // Edge values as well as random ones: all-ones addresses and ports, zeros.
          src[i] = round % 5 == 0 ? 0xffffffffu : static_cast<uint32_t>(rng());
          dst[i] = round % 7 == 0 ? 0 : static_cast<uint32_t>(rng());
          dport[i] = round % 3 == 0 ? 65535 : static_cast<uint16_t>(rng());
        }
        Frames vec(tmpl, kMaxProbeBatch), ref(tmpl, kMaxProbeBatch);
        patch_probes_aes_avx512(tmpl, cookie, src, dst, dport, vec.ptrs.data(), n);
        for (unsigned i = 0; i < n; ++i)
          tmpl.patch(ref.ptrs[i], Ipv4Addr(src[i]), Ipv4Addr(dst[i]), dport[i],
                     make_cookie(cookie, Ipv4Addr(src[i]), Ipv4Addr(dst[i]), dport[i]));
        for (unsigned i = 0; i < kMaxProbeBatch; ++i) {
          CAPTURE(i);
          // The probe, and the buffer beyond the 64-byte store untouched; frames from n on
          // are untouched entirely. (Bytes from the probe's end to 64 are the template's.)
          const size_t len = i < n ? tmpl.size() : kStride;
          auto bytes = [&](const Frames& f, size_t from, size_t to) {
            return std::vector<uint8_t>(f.ptrs[i] + from, f.ptrs[i] + to);
          };
          REQUIRE(bytes(vec, 0, len) == bytes(ref, 0, len));
          REQUIRE(bytes(vec, 64, kStride) == bytes(ref, 64, kStride));
        }
      }
    }
  }
}

TEST_CASE("build_probe_batch: the same frames with and without the vector path") {
  IpSet addrs;
  addrs.add({0xc6120000u, 0xc613ffffu});
  const TargetSpace space(addrs, {22, 80, 443, 8080, 65535});
  const ScanOrder order(space.size(), 0, 11, {}, 1);
  const ProbeTemplate tmpl{ProbeConfig{}};
  const SourceAddresses sources(
      {Ipv4Addr(0xc613ff02u), Ipv4Addr(0xc613ff03u), Ipv4Addr(0xc613ff09u)});
  for (CookieAlgo algo : {CookieAlgo::kAes, CookieAlgo::kSipHash}) {
    CookieParams cookie;
    cookie.set_key({7, 9}, algo);
    CyclicWalk a = order.walk(0), b = order.walk(0);
    Frames fa(tmpl, kMaxProbeBatch), fb(tmpl, kMaxProbeBatch);
    for (unsigned round = 0; round < 200; ++round) {
      const unsigned n = 1 + round % kMaxProbeBatch;
      const unsigned ka =
          build_probe_batch<Ipv4>(a, order, space, tmpl, cookie, sources, fa.ptrs.data(), n, true);
      const unsigned kb =
          build_probe_batch<Ipv4>(b, order, space, tmpl, cookie, sources, fb.ptrs.data(), n, false);
      REQUIRE(ka == kb);
      REQUIRE(ka == n);
      REQUIRE(fa.bytes == fb.bytes);
    }
    CHECK(a.position() == b.position());
  }
}
