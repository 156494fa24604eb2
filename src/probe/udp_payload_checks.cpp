// The built-in payloads' answer checks, but SNMP's (udp_payload_snmp.cpp). Offsets are the
// protocols' own: DNS RFC 1035 section 4.1, NTP RFC 5905 section 7.3, memcached's UDP frame
// (protocol.txt, "UDP protocol"), NetBIOS RFC 1002 section 4.2, STUN RFC 5389 section 6, CoAP
// RFC 7252 section 3, IKEv2 RFC 7296 section 3.1.
#include <algorithm>
#include <string_view>

#include "dpscan/bytes.hpp"
#include "probe/udp_payload_checks.hpp"

namespace dpscan::udp {

namespace {

constexpr Echo kBad{false, 0};

// a[ao, ao + n) == b[bo, bo + n), both in bounds.
bool same(Bytes a, size_t ao, Bytes b, size_t bo, size_t n) {
  return ao + n <= a.size() && bo + n <= b.size() &&
         std::equal(a.begin() + static_cast<std::ptrdiff_t>(ao),
                    a.begin() + static_cast<std::ptrdiff_t>(ao + n),
                    b.begin() + static_cast<std::ptrdiff_t>(bo));
}

bool starts_with(Bytes a, size_t at, std::string_view s) {
  return at + s.size() <= a.size() &&
         std::equal(s.begin(), s.end(), a.begin() + static_cast<std::ptrdiff_t>(at),
                    [](char x, uint8_t y) { return static_cast<uint8_t>(x) == y; });
}

uint8_t bits(size_t n) {
  return static_cast<uint8_t>(std::min<size_t>(n, 255));
}

// The letters in the labels of the DNS name at q (the bits of 0x20 case it carries).
size_t name_letters(Bytes q) {
  size_t letters = 0;
  for (size_t i = 0; i < q.size() && q[i] != 0 && q[i] < 64; i += 1u + q[i]) {
    for (size_t j = i + 1; j <= i + q[i] && j < q.size(); ++j) {
      const uint8_t lower = static_cast<uint8_t>(q[j] | 0x20);
      letters += lower >= 'a' && lower <= 'z';
    }
  }
  return letters;
}

}  // namespace

// DNS: a response (QR) to the same opcode with the same ID; its question must be ours byte for
// byte, letters' case included (0x20). An error response without the question (some servers'
// FORMERR, NOTIMP, REFUSED) proves the ID only.
Echo check_dns(Bytes a, Bytes p) {
  constexpr size_t kHeader = 12;
  if (a.size() < kHeader || p.size() < kHeader || !same(a, 0, p, 0, 2)) return kBad;
  if (!(a[2] & 0x80) || ((a[2] ^ p[2]) & 0x78)) return kBad;
  const uint16_t qdcount = load_be16(a.data() + 4);
  const Bytes question = p.subspan(kHeader);
  if (qdcount == 0) return (a[3] & 0x0f) != 0 ? Echo{true, 16} : kBad;
  if (qdcount != 1 || !same(a, kHeader, question, 0, question.size())) return kBad;
  return {true, bits(16 + name_letters(question))};
}

// NTP: a server's (mode 4) packet whose origin timestamp is our transmit timestamp.
Echo check_ntp(Bytes a, Bytes p) {
  constexpr size_t kPacket = 48, kOrigin = 24, kTransmit = 40;
  if (a.size() < kPacket || (a[0] & 0x07) != 4 || (a[0] & 0x38) == 0) return kBad;
  return same(a, kOrigin, p, kTransmit, 8) ? Echo{true, 64} : kBad;
}

// SSDP: an HTTP 200 answer to the M-SEARCH; nothing is echoed.
Echo check_ssdp(Bytes a, Bytes) {
  return starts_with(a, 0, "HTTP/1.1 200") ? Echo{true, 0} : kBad;
}

// memcached: the UDP frame header's request ID, a sequence number below the datagram count,
// and the "VERSION " answer to "version".
Echo check_memcached(Bytes a, Bytes p) {
  constexpr size_t kFrame = 8;
  if (a.size() < kFrame || !same(a, 0, p, 0, 2)) return kBad;
  const uint16_t seq = load_be16(a.data() + 2), total = load_be16(a.data() + 4);
  if (seq >= total || !starts_with(a, kFrame, "VERSION ")) return kBad;
  return {true, 16};
}

// NetBIOS name service: a response (R bit, opcode 0: query) with our transaction ID whose
// first answer record is NBSTAT for the name we asked about.
Echo check_nbns(Bytes a, Bytes p) {
  constexpr size_t kHeader = 12, kTypeClass = 4;
  constexpr uint16_t kNbstat = 0x0021, kIn = 0x0001;
  if (a.size() < kHeader || p.size() < kHeader + kTypeClass || !same(a, 0, p, 0, 2)) return kBad;
  if (!(a[2] & 0x80) || (a[2] & 0x78) || load_be16(a.data() + 6) == 0) return kBad;
  const size_t name_len = p.size() - kHeader - kTypeClass;
  if (!same(a, kHeader, p, kHeader, name_len) || a.size() < kHeader + name_len + kTypeClass)
    return kBad;
  const uint8_t* rr = a.data() + kHeader + name_len;
  if (load_be16(rr) != kNbstat || load_be16(rr + 2) != kIn) return kBad;
  return {true, 16};
}

// STUN: a Binding success response with our magic cookie and 96-bit transaction ID, whose
// length covers the datagram in whole attributes.
Echo check_stun(Bytes a, Bytes p) {
  constexpr size_t kHeader = 20;
  constexpr uint16_t kBindingSuccess = 0x0101;
  if (a.size() < kHeader || load_be16(a.data()) != kBindingSuccess) return kBad;
  const size_t len = load_be16(a.data() + 2);
  if (len % 4 != 0 || kHeader + len != a.size() || !same(a, 4, p, 4, 16)) return kBad;
  return {true, 96};
}

// CoAP: a piggybacked response (ACK with a 2.xx-5.xx code) echoes the message ID and token;
// a separate response (CON or NON) the token only; an empty ACK or a reset the message ID only.
Echo check_coap(Bytes a, Bytes p) {
  constexpr size_t kHeader = 4;
  constexpr unsigned kCon = 0, kNon = 1, kAck = 2, kRst = 3;
  if (a.size() < kHeader || p.size() < kHeader || (a[0] >> 6) != 1) return kBad;
  const unsigned type = (a[0] >> 4) & 3u, tkl = a[0] & 0x0fu, ptkl = p[0] & 0x0fu;
  const unsigned code_class = a[1] >> 5;
  const bool mid = same(a, 2, p, 2, 2);
  const bool token = tkl == ptkl && same(a, kHeader, p, kHeader, tkl);
  const bool response = code_class >= 2 && code_class <= 5;
  if (tkl > 8) return kBad;
  if ((type == kAck || type == kRst) && a[1] == 0)  // empty: exactly the header
    return mid && tkl == 0 && a.size() == kHeader ? Echo{true, 16} : kBad;
  if (type == kAck) return mid && token && response ? Echo{true, bits(16 + 8 * ptkl)} : kBad;
  if (type == kCon || type == kNon) return token && response ? Echo{true, bits(8 * ptkl)} : kBad;
  return kBad;
}

// IKEv2: the responder's IKE_SA_INIT message 0 with our initiator SPI, its length the
// datagram's.
Echo check_ike(Bytes a, Bytes p) {
  constexpr size_t kHeader = 28, kVersion = 17, kExchange = 18, kFlags = 19, kMsgId = 20,
                   kLengthAt = 24;
  constexpr uint8_t kIkeSaInit = 34, kResponse = 0x20;
  if (a.size() < kHeader || !same(a, 0, p, 0, 8)) return kBad;
  if ((a[kVersion] >> 4) != 2 || a[kExchange] != kIkeSaInit || !(a[kFlags] & kResponse) ||
      load_be32(a.data() + kMsgId) != 0 || load_be32(a.data() + kLengthAt) != a.size())
    return kBad;
  return {true, 64};
}

}  // namespace dpscan::udp
