#include <doctest/doctest.h>

#include "dpscan/cookie.hpp"
#include "dpscan/siphash.hpp"

#include <cstring>

using namespace dpscan;

// Test vectors from the SipHash paper (Aumasson & Bernstein, appendix A) and the reference
// implementation's vectors.h: key 00..0f, message 00..(len-1).
TEST_CASE("SipHash-2-4 reference vectors") {
  uint8_t key[16], msg[64];
  for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
  for (int i = 0; i < 64; ++i) msg[i] = static_cast<uint8_t>(i);
  const SipKey k{load_le64(key), load_le64(key + 8)};
  CHECK(siphash24(k, msg, 15) == 0xa129ca6149be45e5ULL);  // the paper's example
  CHECK(siphash24(k, msg, 0) == 0x726fdb47dd0e0e31ULL);
  CHECK(siphash24(k, msg, 1) == 0x74f839c593dc67fdULL);
  CHECK(siphash24(k, msg, 8) == 0x93f5f5799a932462ULL);
}

TEST_CASE("the specialised cookie hash equals generic SipHash of the 10-byte message") {
  const SipKey k{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  for (uint32_t i = 0; i < 1000; ++i) {
    const uint32_t src = 0xc613ff02u + i * 7919, dst = 0xc6120000u + i * 104729;
    const auto port = static_cast<uint16_t>(i * 31 + 1);
    uint8_t m[10];
    store_be32(m, src);
    store_be32(m + 4, dst);
    store_be16(m + 8, port);
    REQUIRE(cookie_hash_siphash(k, src, dst, port) == siphash24(k, m, 10));
  }
}

TEST_CASE("cookie source ports stay in range") {
  CookieParams p;
  p.key = {1, 2};
  p.sport_first = 40000;
  p.sport_count = 100;
  for (uint32_t i = 0; i < 5000; ++i) {
    const Cookie c = make_cookie(p, Ipv4Addr(1), Ipv4Addr(i), 80);
    REQUIRE(c.sport >= 40000);
    REQUIRE(c.sport < 40100);
  }
  p.sport_first = 1;
  p.sport_count = 65535;
  for (uint32_t i = 0; i < 5000; ++i)
    REQUIRE(make_cookie(p, Ipv4Addr(1), Ipv4Addr(i), 80).sport >= 1);
}

TEST_CASE("AES-128 known answer (FIPS-197 appendix C.1) and the AES cookie") {
  if (!cpu_has_aes()) return;  // the portable SipHash cookie is used on such CPUs
  uint8_t key[16], pt[16], ct[16];
  for (int i = 0; i < 16; ++i)
    key[i] = static_cast<uint8_t>(i), pt[i] = static_cast<uint8_t>(i * 0x11);
  AesKeys ks;
  aes128_expand(ks, SipKey{load_le64(key), load_le64(key + 8)});
  aes128_encrypt(ks, pt, ct);
  const uint8_t want[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                            0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
  CHECK(std::memcmp(ct, want, 16) == 0);

  // The cookie PRF is AES of src|dst|dport|0 (network order), first 8 bytes little-endian.
  uint8_t block[16] = {}, out[16];
  store_be32(block, 0xc613ff02u);
  store_be32(block + 4, 0xc6120011u);
  store_be16(block + 8, 443);
  aes128_encrypt(ks, block, out);
  CHECK(cookie_hash_aes(ks, 0xc613ff02u, 0xc6120011u, 443) == load_le64(out));
  uint32_t src[3] = {1, 2, 3}, dst[3] = {4, 5, 6};
  uint16_t port[3] = {7, 8, 9};
  uint64_t h[3];
  cookie_hash_aes_batch(ks, src, dst, port, h, 3);
  for (int i = 0; i < 3; ++i) CHECK(h[i] == cookie_hash_aes(ks, src[i], dst[i], port[i]));
}
