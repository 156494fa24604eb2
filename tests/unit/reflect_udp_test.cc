// dpscan-reflect's UDP and ICMP echo answers, checked by dpscan's own code: a probe written
// by dpscan's UDP or echo module is read by the reflector (reflect_family.hpp), answered
// (udp_services.cpp, answer_frames.hpp, frames.cpp) and the answer classified by dpscan
// (classify_frame, the payload checks of src/probe/udp_payload_checks.cpp): open with the
// echoed field's bits, closed for port unreachable, up for an echo reply; a forged echoed
// field is dropped as bad_echo. Both families. And the world's UDP and echo decisions.
#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "answer_frames.hpp"
#include "dpscan/classify.hpp"
#include "dpscan/error.hpp"
#include "dpscan/udp_payload.hpp"
#include "frames.hpp"
#include "probe/icmp_echo.hpp"
#include "probe/udp.hpp"
#include "reflect_family.hpp"
#include "udp_services.hpp"
#include "world.hpp"

using namespace dpscan;
using namespace dpscan::reflect;

namespace {

const MacAddr kUsMac({2, 0, 0, 0, 0, 1}), kGwMac({2, 0, 0, 0, 0, 2});

template <typename F>
typename F::Addr us();
template <>
Ipv4Addr us<Ipv4>() {
  return Ipv4Addr(0xc613ff02u);
}
template <>
Ipv6Addr us<Ipv6>() {
  return *Ipv6Addr::parse("2001:db8:ffff::2");
}
template <typename F>
typename F::Addr them();
template <>
Ipv4Addr them<Ipv4>() {
  return Ipv4Addr(0xc6120105u);
}
template <>
Ipv6Addr them<Ipv6>() {
  return *Ipv6Addr::parse("2001:db8:1:2::5");
}

std::vector<udp::Payload> services() {
  std::vector<udp::Payload> out;
  for (const char* name : {"dns", "ntp", "snmp", "memcached"})
    for (const udp::Payload& p : udp::builtin_payloads())
      if (p.name() == name) out.push_back(p);
  return out;
}

// Builds the service's answer to the probe at `probe` (as the reflector reads it) into a frame;
// `forge` changes the answer's byte there first (or nothing: -1).
template <typename F>
size_t answer_frame(const uint8_t* probe, size_t n, uint8_t* out, int forge = -1) {
  typename Side<F>::Echo e;
  uint8_t flags = 0;
  REQUIRE(Side<F>::parse(probe, n, e, flags) == ip4::kProtoUdp);
  const auto l4 = Side<F>::l4(e);
  REQUIRE(l4.size() == e.l4_full);
  uint8_t data[kMaxUdpAnswer];
  const size_t len =
      udp_answer(udp_service_of(e.tport), l4.subspan(udp::kLen), ntp_time(1.8e9), data);
  REQUIRE(len > 0);
  if (forge >= 0) data[forge] ^= 0x01;
  return build_udp_frame<F>(out, kGwMac, kUsMac, e.target, e.scanner, e.tport, e.sport, 64, data,
                            len);
}

template <typename F>
void udp_round_trip() {
  using M = Udp<F>;
  using V = Verdict<typename F::Addr>;
  ProbePlan plan;
  plan.udp_payloads = services();
  REQUIRE(plan.udp_payloads.size() == 4);
  RxContext<M> ctx{};
  ctx.sources = SourceAddressesOf<typename F::Addr>({us<F>()});
  ctx.cookie.set_key({0x12, 0x34}, CookieAlgo::kSipHash);
  ctx.module = M::make_rx_config(plan);
  const auto tmpl = M::make_template(LinkConfig{kUsMac, kGwMac, 64, 0}, plan);
  // The byte of each answer that carries the echo: DNS's ID, NTP's origin timestamp, the last
  // byte of SNMP's request-id (after 30 29 02 01 01 04 06 public a2 xx 02 04), memcached's
  // request ID.
  const int echoed[] = {1, 31, 20, 1};
  for (uint16_t slot = 0; slot < 4; ++slot) {
    const uint16_t port = plan.udp_payloads[slot].port();
    CAPTURE(port);
    uint8_t probe[1600], f[1600];
    std::memcpy(probe, tmpl.frame().data(), eth::kLen);
    const uint64_t h1 = cookie_hash(ctx.cookie, us<F>(), them<F>(), slot);
    const size_t pn = tmpl.write(probe, us<F>(), them<F>(), port, slot, ctx.cookie, h1);
    size_t n = answer_frame<F>(probe, pn, f);
    V v = classify_frame<M>(f, n, ctx);
    REQUIRE(v.kind == V::Kind::kResult);
    CHECK(v.status == Status::kOpen);
    CHECK(v.port == port);
    CHECK(v.ip == them<F>());
    CHECK(v.validation_bits > sport_bits(ctx.cookie));  // the echoed field proved bits
    // A changed echoed field: dpscan refuses the answer.
    n = answer_frame<F>(probe, pn, f, echoed[slot]);
    v = classify_frame<M>(f, n, ctx);
    CHECK(v.kind == V::Kind::kDrop);
    CHECK(v.drop == Drop::kBadEcho);
    // The host's port unreachable quoting the probe: closed.
    typename Side<F>::Echo e;
    uint8_t flags = 0;
    REQUIRE(Side<F>::parse(probe, pn, e, flags) == ip4::kProtoUdp);
    n = Side<F>::build_port_unreachable(f, kGwMac, kUsMac, e, 64);
    v = classify_frame<M>(f, n, ctx);
    REQUIRE(v.kind == V::Kind::kResult);
    CHECK(v.status == Status::kClosed);
    CHECK(v.port == port);
    CHECK(v.ip == them<F>());
  }
}

template <typename F>
void echo_round_trip() {
  using M = IcmpEcho<F>;
  using V = Verdict<typename F::Addr>;
  RxContext<M> ctx{};
  ctx.sources = SourceAddressesOf<typename F::Addr>({us<F>()});
  ctx.cookie.set_key({0x56, 0x78}, CookieAlgo::kSipHash);
  const auto tmpl = M::make_template(LinkConfig{kUsMac, kGwMac, 64, 0}, ProbePlan{});
  uint8_t probe[256], f[256];
  std::memcpy(probe, tmpl.frame().data(), tmpl.frame().size());
  const size_t pn = tmpl.frame().size();
  tmpl.patch(probe, us<F>(), them<F>(), cookie_hash(ctx.cookie, us<F>(), them<F>(), 0));
  typename Side<F>::Echo e;
  uint8_t flags = 0;
  REQUIRE(Side<F>::parse(probe, pn, e, flags) == F::kIcmpProto);
  const auto m = Side<F>::l4(e);
  REQUIRE(m.size() == e.l4_full);
  size_t n = build_echo_reply<F>(f, kGwMac, kUsMac, e.target, e.scanner, 64, m.data(), m.size());
  V v = classify_frame<M>(f, n, ctx);
  REQUIRE(v.kind == V::Kind::kResult);
  CHECK(v.status == Status::kUp);
  CHECK(v.validation_bits == 64);
  CHECK(v.ip == them<F>());
  // The request's data changed: no longer ours.
  std::vector<uint8_t> forged(m.begin(), m.end());
  forged[icmp::kLen] ^= 0x80;
  n = build_echo_reply<F>(f, kGwMac, kUsMac, e.target, e.scanner, 64, forged.data(), forged.size());
  v = classify_frame<M>(f, n, ctx);
  CHECK(v.kind == V::Kind::kDrop);
  // A router's unreachable quoting the echo request: unreachable.
  const World w(load_world_text(F::kFamily == Family::kIpv6
                                    ? "family: ipv6\nnetworks: [{kind: unreachable}]\n"
                                    : "networks: [{kind: unreachable}]\n",
                                "t"),
                1);
  n = Side<F>::build_icmp(f, kGwMac, kUsMac, w, e, F::kFamily == Family::kIpv6 ? 3 : 1, 64);
  v = classify_frame<M>(f, n, ctx);
  REQUIRE(v.kind == V::Kind::kResult);
  CHECK(v.status == Status::kUnreachable);
}

}  // namespace

TEST_CASE("reflector UDP answers validate in dpscan's UDP module; forged ones do not") {
  udp_round_trip<Ipv4>();
  udp_round_trip<Ipv6>();
}

TEST_CASE("reflector echo replies validate in dpscan's echo module") {
  echo_round_trip<Ipv4>();
  echo_round_trip<Ipv6>();
}

TEST_CASE("UDP services: DNS keeps the 0x20 case, NTP the timestamp, others refuse") {
  const udp::Payload* dns = nullptr;
  for (const udp::Payload& p : udp::builtin_payloads())
    if (p.name() == "dns") dns = &p;
  REQUIRE(dns);
  udp::PayloadCookie c{};
  for (int i = 0; i < 16; ++i) c.b[i] = static_cast<uint8_t>(0x5a + 31 * i);
  std::vector<uint8_t> q(dns->size());
  const uint8_t dst[4] = {198, 18, 1, 5};
  dns->write(q.data(), c, dst);
  uint8_t a[kMaxUdpAnswer];
  const size_t n = udp_answer(UdpService::kDns, q, 0, a);
  REQUIRE(n > q.size());
  CHECK(std::memcmp(a + 12, q.data() + 12, q.size() - 12) == 0);  // the question, case and all
  CHECK(dns->check({a, n}, c).ok);
  a[13] ^= 0x20;  // one letter's case flipped
  CHECK_FALSE(dns->check({a, n}, c).ok);
  // Not a request of the service: no answer.
  CHECK(udp_answer(UdpService::kNtp, q, 0, a) == 0);
  CHECK(udp_answer(UdpService::kSnmp, q, 0, a) == 0);
  CHECK(udp_answer(UdpService::kMemcached, q, 0, a) == 0);
  CHECK(udp_answer(UdpService::kNone, q, 0, a) == 0);
  q[2] |= 0x80;  // a response, not a query
  CHECK(udp_answer(UdpService::kDns, q, 0, a) == 0);
  CHECK((ntp_time(0) >> 32) == 2208988800u);
}

TEST_CASE("the world's UDP ports and echo: services, port unreachable, silence") {
  const World w(load_world_text("networks:\n"
                                "  - {kind: hosts, hosts: 1, udp_open: {53: 1, 161: 0}, "
                                "udp_closed_icmp: 1, echo: 1}\n",
                                "t"),
                3);
  const Ipv4Addr a(0xc6120105u);
  CHECK(w.answer_udp(a, 53).fate == Fate::kUdpReply);
  CHECK(w.answer_udp(a, 161).fate == Fate::kPortUnreach);
  CHECK(w.answer_udp(a, 7).fate == Fate::kPortUnreach);
  CHECK(w.answer_echo(a).fate == Fate::kEchoReply);
  CHECK(status_of(Fate::kUdpReply) == Status::kOpen);
  CHECK(status_of(Fate::kPortUnreach) == Status::kClosed);
  CHECK(status_of(Fate::kEchoReply) == Status::kUp);
  CHECK(w.answer(a, 53).fate == Fate::kSilent);  // TCP: nothing open, no RSTs
  const World quiet(load_world_text("networks: [{kind: hosts, hosts: 1}]\n", "t"), 3);
  CHECK(quiet.answer_udp(a, 53).fate == Fate::kSilent);
  CHECK(quiet.answer_echo(a).fate == Fate::kSilent);
  CHECK_THROWS_AS(load_world_text("networks: [{kind: hosts, udp_open: {54: 1}}]\n", "t"),
                  UsageError);
}
