#include "udp_services.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "dpscan/bytes.hpp"

namespace dpscan::reflect {
namespace {

using Bytes = std::span<const uint8_t>;

// DNS: the question section of a standard query (one question), answered.
size_t dns(Bytes q, uint8_t* out) {
  constexpr size_t kHeader = 12;
  constexpr uint16_t kTxt = 16;
  constexpr std::string_view kText = "dpscan-reflect";
  if (q.size() < kHeader || (q[2] & 0x80) || (q[2] & 0x78) || load_be16(q.data() + 4) != 1)
    return 0;
  size_t i = kHeader;  // the name: labels up to the root (no compression in a query)
  for (;;) {
    if (i >= q.size() || q[i] >= 64) return 0;
    if (q[i] == 0) break;
    i += 1u + q[i];
  }
  const size_t end = i + 1 + 4;  // the root label, QTYPE, QCLASS
  if (end > q.size() || end + 16 + kText.size() > kMaxUdpAnswer) return 0;
  const uint16_t qtype = load_be16(q.data() + i + 1), qclass = load_be16(q.data() + i + 3);
  const bool txt = qtype == kTxt;
  std::memcpy(out, q.data(), 2);                        // the ID
  out[2] = static_cast<uint8_t>(0x84 | (q[2] & 0x01));  // QR, AA, opcode 0, RD as asked
  out[3] = 0;                                           // RA 0, NOERROR
  store_be16(out + 4, 1);
  store_be16(out + 6, txt ? 1 : 0);
  store_be16(out + 8, 0);
  store_be16(out + 10, 0);
  std::memcpy(out + kHeader, q.data() + kHeader, end - kHeader);  // the question as asked
  size_t n = end;
  if (txt) {
    store_be16(out + n, 0xc000 | kHeader);  // the question's name
    store_be16(out + n + 2, kTxt);
    store_be16(out + n + 4, qclass);
    store_be32(out + n + 6, 0);  // TTL
    store_be16(out + n + 10, static_cast<uint16_t>(1 + kText.size()));
    out[n + 12] = static_cast<uint8_t>(kText.size());
    std::memcpy(out + n + 13, kText.data(), kText.size());
    n += 13 + kText.size();
  }
  return n;
}

// NTP: a server's reply to a client's request.
size_t ntp(Bytes q, uint64_t now, uint8_t* out) {
  constexpr size_t kPacket = 48;
  const unsigned version = (q.size() >= kPacket ? q[0] >> 3 : 0) & 7u;
  if (q.size() < kPacket || (q[0] & 7u) != 3 || version < 1 || version > 4) return 0;
  std::memset(out, 0, kPacket);
  out[0] = static_cast<uint8_t>(version << 3 | 4);  // LI 0, the client's version, mode 4
  out[1] = 2;                                       // stratum 2
  out[2] = q[2];                                    // poll, as asked
  out[3] = 0xec;                                    // precision 2^-20 s
  store_be32(out + 4, 0x00000100);                  // root delay, 1/256 s
  store_be32(out + 8, 0x00000200);                  // root dispersion
  store_be32(out + 12, 0xc6120001);                 // reference ID: its upstream, 198.18.0.1
  const auto put64 = [&](size_t at, uint64_t v) {
    store_be32(out + at, static_cast<uint32_t>(v >> 32));
    store_be32(out + at + 4, static_cast<uint32_t>(v));
  };
  put64(16, now - (uint64_t{64} << 32));    // reference: synchronised a minute ago
  std::memcpy(out + 24, q.data() + 40, 8);  // origin: the request's transmit timestamp
  put64(32, now);                           // receive
  put64(40, now);                           // transmit
  return kPacket;
}

// SNMP: BER TLVs (definite lengths, at most two length bytes).
struct Tlv {
  uint8_t tag;
  Bytes value;
};

std::optional<Tlv> take(Bytes& in) {
  if (in.size() < 2) return std::nullopt;
  size_t len = in[1], header = 2;
  if (len == 0x81 || len == 0x82) {
    const size_t n = len & 0x7fu;
    if (in.size() < 2 + n) return std::nullopt;
    len = n == 1 ? in[2] : size_t{load_be16(in.data() + 2)};
    header += n;
  } else if (len & 0x80) {
    return std::nullopt;
  }
  if (len > in.size() - header) return std::nullopt;
  const Tlv t{in[0], in.subspan(header, len)};
  in = in.subspan(header + len);
  return t;
}

// Appends tag, length and value; false when it does not fit in `cap`.
struct Writer {
  uint8_t* out;
  size_t cap;
  size_t n = 0;
  bool put(uint8_t tag, const uint8_t* v, size_t len) {
    const size_t header = len < 128 ? 2 : 3;
    if (len > 255 || n + header + len > cap) return false;
    out[n++] = tag;
    if (len >= 128) out[n++] = 0x81;
    out[n++] = static_cast<uint8_t>(len);
    if (len) std::memmove(out + n, v, len);
    n += len;
    return true;
  }
  bool put(uint8_t tag, Bytes v) { return put(tag, v.data(), v.size()); }
};

size_t snmp(Bytes q, uint8_t* out) {
  constexpr uint8_t kInteger = 0x02, kOctets = 0x04, kNull = 0x05, kOid = 0x06, kSequence = 0x30,
                    kGet = 0xa0, kGetNext = 0xa1, kResponse = 0xa2, kNoSuchObject = 0x80,
                    kEndOfMib = 0x82, kNoSuchName = 2;
  static constexpr uint8_t kSysDescr[] = {0x2b, 6, 1, 2, 1, 1, 1, 0};
  constexpr std::string_view kDescr = "dpscan-reflect simulated host";
  const auto top = take(q);
  if (!top || top->tag != kSequence) return 0;
  Bytes body = top->value;
  const auto version = take(body), community = take(body), pdu = take(body);
  if (!version || version->tag != kInteger || version->value.size() != 1 || version->value[0] > 1 ||
      !community || community->tag != kOctets || !pdu || (pdu->tag != kGet && pdu->tag != kGetNext))
    return 0;
  const bool v1 = version->value[0] == 0;
  Bytes fields = pdu->value;
  const auto request_id = take(fields), status = take(fields), index = take(fields),
             varbinds = take(fields);
  if (!request_id || request_id->tag != kInteger || request_id->value.empty() ||
      request_id->value.size() > 4 || !status || !index || !varbinds || varbinds->tag != kSequence)
    return 0;
  // The variable bindings: each name with its value (or the exception), built first.
  uint8_t list[kMaxUdpAnswer];
  Writer vbs{list, sizeof(list)};
  uint8_t error = 0, error_index = 0, at = 0;
  for (Bytes in = varbinds->value; !in.empty();) {
    const auto vb = take(in);
    if (!vb || vb->tag != kSequence) return 0;
    Bytes pair = vb->value;
    const auto name = take(pair);
    if (!name || name->tag != kOid || name->value.empty()) return 0;
    ++at;
    const bool known = pdu->tag == kGet && name->value.size() == sizeof(kSysDescr) &&
                       std::equal(name->value.begin(), name->value.end(), kSysDescr);
    uint8_t one[kMaxUdpAnswer];
    Writer w{one, sizeof(one)};
    if (!w.put(kOid, name->value)) return 0;
    if (known) {
      if (!w.put(kOctets, reinterpret_cast<const uint8_t*>(kDescr.data()), kDescr.size())) return 0;
    } else if (v1) {
      if (!error) error = kNoSuchName, error_index = at;
      if (!w.put(kNull, nullptr, 0)) return 0;
    } else if (!w.put(pdu->tag == kGet ? kNoSuchObject : kEndOfMib, nullptr, 0)) {
      return 0;
    }
    if (!vbs.put(kSequence, one, w.n)) return 0;
  }
  uint8_t inner[kMaxUdpAnswer];
  Writer p{inner, sizeof(inner)};
  if (!p.put(kInteger, request_id->value) || !p.put(kInteger, &error, 1) ||
      !p.put(kInteger, &error_index, 1) || !p.put(kSequence, list, vbs.n))
    return 0;
  uint8_t message[kMaxUdpAnswer];
  Writer m{message, sizeof(message)};
  if (!m.put(kInteger, version->value) || !m.put(kOctets, community->value) ||
      !m.put(kResponse, inner, p.n))
    return 0;
  Writer o{out, kMaxUdpAnswer};
  return o.put(kSequence, message, m.n) ? o.n : 0;
}

// memcached's UDP frame: request ID, sequence number, datagram count, reserved; then text.
size_t memcached(Bytes q, uint8_t* out) {
  constexpr size_t kFrame = 8;
  if (q.size() < kFrame + 2 || load_be16(q.data() + 2) != 0 || load_be16(q.data() + 4) != 1)
    return 0;
  const std::string_view cmd(reinterpret_cast<const char*>(q.data() + kFrame), q.size() - kFrame);
  const size_t eol = cmd.find('\n');
  if (eol == std::string_view::npos) return 0;
  const std::string_view line = cmd.substr(0, eol > 0 && cmd[eol - 1] == '\r' ? eol - 1 : eol);
  const std::string_view reply = line == "version" ? "VERSION 1.6.21\r\n" : "ERROR\r\n";
  std::memcpy(out, q.data(), 2);
  store_be16(out + 2, 0);
  store_be16(out + 4, 1);
  store_be16(out + 6, 0);
  std::memcpy(out + kFrame, reply.data(), reply.size());
  return kFrame + reply.size();
}

}  // namespace

std::string_view to_string(UdpService s) {
  switch (s) {
    case UdpService::kDns:
      return "dns";
    case UdpService::kNtp:
      return "ntp";
    case UdpService::kSnmp:
      return "snmp";
    case UdpService::kMemcached:
      return "memcached";
    case UdpService::kNone:
      break;
  }
  return "none";
}

size_t udp_answer(UdpService s, std::span<const uint8_t> request, uint64_t ntp_now, uint8_t* out) {
  switch (s) {
    case UdpService::kDns:
      return dns(request, out);
    case UdpService::kNtp:
      return ntp(request, ntp_now, out);
    case UdpService::kSnmp:
      return snmp(request, out);
    case UdpService::kMemcached:
      return memcached(request, out);
    case UdpService::kNone:
      break;
  }
  return 0;
}

uint64_t ntp_time(double unix_seconds) {
  constexpr double kEra = 2208988800.0;  // 1900 to 1970
  const double t = unix_seconds + kEra;
  const auto whole = static_cast<uint64_t>(t);
  const auto frac = static_cast<uint64_t>((t - static_cast<double>(whole)) * 4294967296.0);
  return whole << 32 | (frac & 0xffffffffu);
}

}  // namespace dpscan::reflect
