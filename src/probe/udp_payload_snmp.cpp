// SNMP's answer check: a BER parse (X.690 section 8.1, definite lengths only, as RFC 3417
// requires) of the message: SEQUENCE { version INTEGER, community OCTET STRING, PDU { request-id
// INTEGER, error-status INTEGER, error-index INTEGER, SEQUENCE OF SEQUENCE { OID, value } } }.
#include <cstdint>
#include <optional>

#include "probe/udp_payload_checks.hpp"

namespace dpscan::udp {

namespace {

constexpr uint8_t kInteger = 0x02, kOctetString = 0x04, kOid = 0x06, kSequence = 0x30,
                  kGetRequest = 0xa0, kResponse = 0xa2, kLastPdu = 0xa8;

struct Tlv {
  uint8_t tag;
  Bytes value;
};

// The TLV at the start of `in`, which it then skips; nullopt when malformed or past the end.
std::optional<Tlv> read_tlv(Bytes& in) {
  if (in.size() < 2 || (in[0] & 0x1f) == 0x1f) return std::nullopt;  // no high tag numbers
  size_t len = in[1], header = 2;
  if (len & 0x80) {
    const size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return std::nullopt;  // 0: indefinite length
    len = 0;
    for (size_t i = 0; i < n; ++i) len = len << 8 | in[2 + i];
    header += n;
  }
  if (len > in.size() - header) return std::nullopt;
  const Tlv t{in[0], in.subspan(header, len)};
  in = in.subspan(header + len);
  return t;
}

std::optional<int64_t> read_integer(Bytes& in) {
  const auto t = read_tlv(in);
  if (!t || t->tag != kInteger || t->value.empty() || t->value.size() > 8) return std::nullopt;
  uint64_t v = t->value[0] & 0x80 ? ~uint64_t{0} : 0;
  for (const uint8_t b : t->value) v = v << 8 | b;
  return static_cast<int64_t>(v);
}

struct Message {
  int64_t version;
  uint8_t pdu;
  int64_t request_id;
};

std::optional<Message> parse(Bytes in) {
  const auto top = read_tlv(in);
  if (!top || top->tag != kSequence || !in.empty()) return std::nullopt;
  Bytes body = top->value;
  const auto version = read_integer(body);
  const auto community = read_tlv(body);
  const auto pdu = read_tlv(body);
  if (!version || !community || community->tag != kOctetString || !pdu || !body.empty() ||
      pdu->tag < kGetRequest || pdu->tag > kLastPdu)
    return std::nullopt;
  Bytes fields = pdu->value;
  const auto request_id = read_integer(fields);
  const auto error_status = read_integer(fields);
  const auto error_index = read_integer(fields);
  const auto varbinds = read_tlv(fields);
  if (!request_id || !error_status || !error_index || !varbinds || varbinds->tag != kSequence ||
      !fields.empty())
    return std::nullopt;
  for (Bytes list = varbinds->value; !list.empty();) {
    const auto vb = read_tlv(list);
    if (!vb || vb->tag != kSequence) return std::nullopt;
    Bytes pair = vb->value;
    const auto name = read_tlv(pair);
    const auto value = read_tlv(pair);
    if (!name || name->tag != kOid || !value || !pair.empty()) return std::nullopt;
  }
  return Message{*version, pdu->tag, *request_id};
}

}  // namespace

// A well-formed Response-PDU of our version with our request-id (31 bits: a positive INTEGER).
Echo check_snmp(Bytes a, Bytes p) {
  const auto ours = parse(p), answer = parse(a);
  if (!ours || !answer || answer->pdu != kResponse || answer->version != ours->version ||
      answer->request_id != ours->request_id)
    return {false, 0};
  return {true, 31};
}

}  // namespace dpscan::udp
