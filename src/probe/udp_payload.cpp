// Payload: writing a probe's payload from its template and checking an answer against it.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "dpscan/udp_payload.hpp"
#include "probe/udp_payload_checks.hpp"

namespace dpscan::udp {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Bytes [src, src + len) of the random-looking stream derived from the cookie: 8-byte blocks,
// block k = splitmix64 of the cookie's two halves and k.
void fill_rand(uint8_t* out, size_t len, const PayloadCookie& c, size_t src) {
  uint64_t a, b;
  std::memcpy(&a, c.b, 8);
  std::memcpy(&b, c.b + 8, 8);
  const uint64_t seed = a ^ ((b << 29) | (b >> 35));
  for (size_t i = 0; i < len;) {
    const size_t k = (src + i) / 8, skip = (src + i) % 8;
    const uint64_t block = splitmix64(seed ^ splitmix64(k));
    uint8_t bytes[8];
    std::memcpy(bytes, &block, 8);
    const size_t n = std::min(8 - skip, len - i);
    std::memcpy(out + i, bytes + skip, n);
    i += n;
  }
}

// Sets the case of each ASCII letter of out[0, len) from successive bits of cookie bytes
// starting at src (bit 0 of the first byte first): 1 upper case, 0 lower case (DNS 0x20).
void set_case(uint8_t* out, size_t len, const PayloadCookie& c, size_t src) {
  size_t bit = 0;
  for (size_t i = 0; i < len; ++i) {
    const uint8_t lower = static_cast<uint8_t>(out[i] | 0x20);
    if (lower < 'a' || lower > 'z') continue;
    const bool upper = (c.b[src + bit / 8] >> (bit % 8)) & 1;
    out[i] = upper ? static_cast<uint8_t>(lower & ~0x20) : lower;
    ++bit;
  }
}

}  // namespace

Payload::Payload(std::string name, uint16_t port, std::vector<uint8_t> bytes,
                 std::vector<Field> fields, Check check)
    : name_(std::move(name)),
      port_(port),
      check_(check),
      bytes_(std::move(bytes)),
      fields_(std::move(fields)) {
  for (const Field& f : fields_) {
    const bool inside = size_t{f.offset} + f.len <= bytes_.size();
    // {case:TEXT} takes one cookie bit per letter (set_case), not per character.
    size_t letters = 0;
    if (inside && f.kind == Field::Kind::kCase)
      for (size_t i = f.offset; i < size_t{f.offset} + f.len; ++i)
        letters += ((bytes_[i] | 0x20) >= 'a' && (bytes_[i] | 0x20) <= 'z');
    const size_t cookie_end = f.kind == Field::Kind::kCookie     ? f.src + f.len
                              : f.kind == Field::Kind::kCookie31 ? f.src + 4u
                              : f.kind == Field::Kind::kCase     ? f.src + (letters + 7) / 8
                                                                 : 0;
    if (!inside || cookie_end > sizeof(PayloadCookie::b) ||
        (f.kind == Field::Kind::kCookie31 && f.len != 4))
      throw std::logic_error("udp payload " + name_ + ": a field outside the template or cookie");
  }
  if (check_ != Check::kNone && bytes_.size() > kMaxChecked)
    throw std::logic_error("udp payload " + name_ + ": too long for check()");
}

void Payload::write(uint8_t* out, const PayloadCookie& c, std::span<const uint8_t> dst) const {
  if (!bytes_.empty()) std::memcpy(out, bytes_.data(), bytes_.size());
  for (const Field& f : fields_) {
    uint8_t* p = out + f.offset;
    switch (f.kind) {
      case Field::Kind::kCookie:
        std::memcpy(p, c.b + f.src, f.len);
        break;
      case Field::Kind::kCookie31:
        std::memcpy(p, c.b + f.src, 4);
        p[0] &= 0x7f;
        break;
      case Field::Kind::kRand:
        fill_rand(p, f.len, c, f.src);
        break;
      case Field::Kind::kDst:
        if (!dst.empty()) std::memcpy(p, dst.data(), std::min<size_t>(f.len, dst.size()));
        break;
      case Field::Kind::kCase:
        set_case(p, f.len, c, f.src);
        break;
    }
  }
}

Echo Payload::check(std::span<const uint8_t> answer, const PayloadCookie& c) const {
  if (check_ == Check::kNone) return {true, 0};
  uint8_t probe_buf[kMaxChecked];
  write(probe_buf, c, {});
  const Bytes probe(probe_buf, bytes_.size());
  switch (check_) {
    case Check::kNone:
      break;
    case Check::kDns:
      return check_dns(answer, probe);
    case Check::kNtp:
      return check_ntp(answer, probe);
    case Check::kSnmp:
      return check_snmp(answer, probe);
    case Check::kSsdp:
      return check_ssdp(answer, probe);
    case Check::kMemcached:
      return check_memcached(answer, probe);
    case Check::kNbns:
      return check_nbns(answer, probe);
    case Check::kStun:
      return check_stun(answer, probe);
    case Check::kCoap:
      return check_coap(answer, probe);
    case Check::kIke:
      return check_ike(answer, probe);
  }
  return {true, 0};
}

std::string_view check_name(Check c) {
  switch (c) {
    case Check::kNone:
      return "none";
    case Check::kDns:
      return "dns";
    case Check::kNtp:
      return "ntp";
    case Check::kSnmp:
      return "snmp";
    case Check::kSsdp:
      return "ssdp";
    case Check::kMemcached:
      return "memcached";
    case Check::kNbns:
      return "nbns";
    case Check::kStun:
      return "stun";
    case Check::kCoap:
      return "coap";
    case Check::kIke:
      return "ike";
  }
  return "?";
}

}  // namespace dpscan::udp
