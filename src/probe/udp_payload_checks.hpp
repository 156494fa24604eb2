// The built-in payloads' answer checks (docs/udp-payloads.md). Each takes an answer's UDP
// payload and the probe it answers (regenerated from the cookie), parses enough of the answer
// to be sure it is that protocol's response, and compares the fields the protocol echoes.
// Every read is bounds-checked: a truncated or malformed answer gives ok=false.
#pragma once

#include <cstdint>
#include <span>

#include "dpscan/udp_payload.hpp"

namespace dpscan::udp {

using Bytes = std::span<const uint8_t>;

Echo check_dns(Bytes answer, Bytes probe);
Echo check_ntp(Bytes answer, Bytes probe);
Echo check_snmp(Bytes answer, Bytes probe);
Echo check_ssdp(Bytes answer, Bytes probe);
Echo check_memcached(Bytes answer, Bytes probe);
Echo check_nbns(Bytes answer, Bytes probe);
Echo check_stun(Bytes answer, Bytes probe);
Echo check_coap(Bytes answer, Bytes probe);
Echo check_ike(Bytes answer, Bytes probe);

}  // namespace dpscan::udp
